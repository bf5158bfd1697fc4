// A VFS shim that batches WAL writes.
//
// SQLite appends a frame to the WAL with two write calls, the 24-byte frame header and then
// the page; a digits-sized epoch is ~14 frames, so ~28 pwrite system calls per transaction,
// which were half of the time Slope's store spent logging an epoch. This shim passes every
// call through to the default VFS ("unix"), except that writes to a WAL file that continue
// the previous one are gathered in a buffer and written with one call when:
//   - the commit frame is complete (its header says so: bytes 4-7, the database size after the
//     commit, are non-zero), from inside that xWrite, so an error (disk full) reaches SQLite
//     there and the transaction fails before the wal-index header makes its frames visible.
//     From then until the writer lock changes hands, writes pass straight through: what SQLite
//     writes after the commit frame (checksums rewritten in place, padding frames) reports its
//     errors itself, never through a barrier that cannot return one;
//   - the buffer is full, a write is not contiguous, or the WAL is read, synced, truncated,
//     sized, or has a file-control call;
//   - any shared-memory barrier (walIndexWriteHdr calls one before publishing a commit).
// Data still buffered when the writer lock is released or taken (frames spilled by a
// transaction that then rolled back) is dropped, never written: after the lock is released,
// another connection may already be writing frames at those offsets.
// Only frames written under the write lock are buffered, so readers (other connections or
// processes, the checkpointer) never see a wal-index header pointing at unwritten frames.
// (In `PRAGMA locking_mode=EXCLUSIVE` there is no shared memory and no barrier; buffered frames
// then wait for the next commit frame, read, sync or close. Slope does not use that mode.)
#include "CWALBuffer.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

// The unix VFS writes at most 0x1ffff bytes per call (seekAndWriteFd masks the length, and a
// length of exactly 128 KiB would become 0 and read as "disk full"): stay below that.
enum { bufferCapacity = 124 << 10, frameHeaderSize = 24, walWriteLock = 0 };

typedef struct ShimFile ShimFile;
struct ShimFile {
    sqlite3_file base;
    sqlite3_file *real;      // the underlying VFS's file, allocated right after this struct
    const char *name;        // as passed to xOpen; SQLite keeps it valid until xClose
    int isWAL;
    // WAL files only:
    unsigned char *buffer;   // bufferCapacity bytes, allocated on first use
    _Atomic int length;      // bytes buffered (atomic: read by other threads' registry walks)
    sqlite3_int64 start;     // file offset of buffer[0]
    int commitFramePending;  // the last write was a commit frame's header: flush after its page
    _Atomic int passThrough; // the commit frame is written: no buffering until the lock changes
    _Atomic pthread_t owner; // the thread that buffered the data (the connection's writer)
    ShimFile *nextWAL;       // registry of open WAL files (under registryLock)
};

static sqlite3_vfs *realVFS;
static sqlite3_vfs shimVFS;
static pthread_mutex_t registryLock = PTHREAD_MUTEX_INITIALIZER;
static ShimFile *openWALs;
static long long writeCalls;  // atomic
static pthread_once_t registerOnce = PTHREAD_ONCE_INIT;
static int registerResult = SQLITE_OK;

static int realWrite(ShimFile *file, const void *data, int amount, sqlite3_int64 offset) {
    __atomic_add_fetch(&writeCalls, 1, __ATOMIC_RELAXED);
    return file->real->pMethods->xWrite(file->real, data, amount, offset);
}

static int flush(ShimFile *file) {
    if (file->length == 0) return SQLITE_OK;
    int length = file->length;
    file->length = 0;
    return realWrite(file, file->buffer, length, file->start);
}

static void discard(ShimFile *file) {
    file->length = 0;
    file->commitFramePending = 0;
}

/// A new writer-lock holder starts buffering afresh.
static void resetAfterLockChange(ShimFile *file) {
    discard(file);
    file->passThrough = 0;
}

/// Whether `wal` is the WAL of the database file `database` ("<database>-wal").
static int isWALOf(const ShimFile *wal, const ShimFile *database) {
    if (!wal->name || !database->name) return 0;
    size_t length = strlen(database->name);
    return strncmp(wal->name, database->name, length) == 0 && strcmp(wal->name + length, "-wal") == 0;
}

/// Drops what the WAL files of `database` in this process still buffer. Call only while this
/// connection holds the write lock: no other connection can be buffering then.
static void discardWALsOf(const ShimFile *database) {
    pthread_mutex_lock(&registryLock);
    for (ShimFile *wal = openWALs; wal; wal = wal->nextWAL) {
        if ((wal->length > 0 || wal->passThrough) && isWALOf(wal, database)) resetAfterLockChange(wal);
    }
    pthread_mutex_unlock(&registryLock);
}

/// Writes out what this thread buffered for the WAL files of `database`.
static void flushWALsOf(const ShimFile *database) {
    pthread_t self = pthread_self();
    pthread_mutex_lock(&registryLock);
    for (ShimFile *wal = openWALs; wal; wal = wal->nextWAL) {
        if (wal->length > 0 && pthread_equal(wal->owner, self) && isWALOf(wal, database)) (void)flush(wal);
    }
    pthread_mutex_unlock(&registryLock);
}

// MARK: - I/O methods

static int shimClose(sqlite3_file *base) {
    ShimFile *file = (ShimFile *)base;
    if (file->isWAL) {
        discard(file);  // anything left was never part of a committed transaction
        pthread_mutex_lock(&registryLock);
        for (ShimFile **link = &openWALs; *link; link = &(*link)->nextWAL) {
            if (*link == file) { *link = file->nextWAL; break; }
        }
        pthread_mutex_unlock(&registryLock);
        free(file->buffer);
        file->buffer = NULL;
    }
    return file->real->pMethods->xClose(file->real);
}

static int shimRead(sqlite3_file *base, void *data, int amount, sqlite3_int64 offset) {
    ShimFile *file = (ShimFile *)base;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xRead(file->real, data, amount, offset);
}

static int shimWrite(sqlite3_file *base, const void *data, int amount, sqlite3_int64 offset) {
    ShimFile *file = (ShimFile *)base;
    if (!file->isWAL) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    if (file->passThrough) return realWrite(file, data, amount, offset);
    int rc;
    int contiguous = file->length > 0 && offset == file->start + file->length;
    int isCommitPage = contiguous && file->commitFramePending;
    file->commitFramePending = 0;
    if (!contiguous || file->length + amount > bufferCapacity) {
        if ((rc = flush(file)) != SQLITE_OK) return rc;
    }
    if (amount > bufferCapacity) return realWrite(file, data, amount, offset);
    if (!file->buffer) {
        file->buffer = malloc(bufferCapacity);
        if (!file->buffer) return realWrite(file, data, amount, offset);
    }
    if (file->length == 0) {
        file->start = offset;
        file->owner = pthread_self();
    }
    memcpy(file->buffer + file->length, data, (size_t)amount);
    file->length += amount;
    if (isCommitPage) {  // the commit frame is complete: write the transaction now
        file->passThrough = 1;
        return flush(file);
    }
    if (amount == frameHeaderSize) {
        const unsigned char *header = data;
        file->commitFramePending = (header[4] | header[5] | header[6] | header[7]) != 0;
    }
    return SQLITE_OK;
}

static int shimTruncate(sqlite3_file *base, sqlite3_int64 size) {
    ShimFile *file = (ShimFile *)base;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xTruncate(file->real, size);
}

static int shimSync(sqlite3_file *base, int flags) {
    ShimFile *file = (ShimFile *)base;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xSync(file->real, flags);
}

static int shimFileSize(sqlite3_file *base, sqlite3_int64 *size) {
    ShimFile *file = (ShimFile *)base;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFileSize(file->real, size);
}

static int shimLock(sqlite3_file *base, int level) {
    ShimFile *file = (ShimFile *)base;
    return file->real->pMethods->xLock(file->real, level);
}

static int shimUnlock(sqlite3_file *base, int level) {
    ShimFile *file = (ShimFile *)base;
    return file->real->pMethods->xUnlock(file->real, level);
}

static int shimCheckReservedLock(sqlite3_file *base, int *result) {
    ShimFile *file = (ShimFile *)base;
    return file->real->pMethods->xCheckReservedLock(file->real, result);
}

static int shimFileControl(sqlite3_file *base, int op, void *argument) {
    ShimFile *file = (ShimFile *)base;
    if (op == SQLITE_FCNTL_VFSNAME) {  // report both layers, as other shims do
        int rc = file->real->pMethods->xFileControl(file->real, op, argument);
        if (rc == SQLITE_OK && argument) {
            char **name = argument;
            char *combined = sqlite3_mprintf("%s/%z", shimVFS.zName, *name);
            if (combined) *name = combined;
        }
        return rc;
    }
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFileControl(file->real, op, argument);
}

static int shimSectorSize(sqlite3_file *base) {
    ShimFile *file = (ShimFile *)base;
    return file->real->pMethods->xSectorSize(file->real);
}

static int shimDeviceCharacteristics(sqlite3_file *base) {
    ShimFile *file = (ShimFile *)base;
    return file->real->pMethods->xDeviceCharacteristics(file->real);
}

static int shimShmMap(sqlite3_file *base, int page, int pageSize, int extend, void volatile **memory) {
    ShimFile *file = (ShimFile *)base;
    return file->real->pMethods->xShmMap(file->real, page, pageSize, extend, memory);
}

static int shimShmLock(sqlite3_file *base, int offset, int count, int flags) {
    ShimFile *file = (ShimFile *)base;
    // Around the writer lock, frames still buffered belong to no committed transaction (a
    // commit writes them out before its header is published): drop them while this
    // connection holds the lock, i.e. before releasing it and after taking it.
    int isWriteLock = offset == walWriteLock && (flags & SQLITE_SHM_EXCLUSIVE);
    if (isWriteLock && (flags & SQLITE_SHM_UNLOCK)) discardWALsOf(file);
    int rc = file->real->pMethods->xShmLock(file->real, offset, count, flags);
    if (isWriteLock && (flags & SQLITE_SHM_LOCK) && rc == SQLITE_OK) discardWALsOf(file);
    return rc;
}

static void shimShmBarrier(sqlite3_file *base) {
    ShimFile *file = (ShimFile *)base;
    // A commit has already written its frames (see shimWrite); this writes out anything else
    // this thread buffered (headers rewritten by walRewriteChecksums) before it is published.
    flushWALsOf(file);
    file->real->pMethods->xShmBarrier(file->real);
}

static int shimShmUnmap(sqlite3_file *base, int deleteFlag) {
    ShimFile *file = (ShimFile *)base;
    return file->real->pMethods->xShmUnmap(file->real, deleteFlag);
}

static int shimFetch(sqlite3_file *base, sqlite3_int64 offset, int amount, void **pointer) {
    ShimFile *file = (ShimFile *)base;
    return file->real->pMethods->xFetch(file->real, offset, amount, pointer);
}

static int shimUnfetch(sqlite3_file *base, sqlite3_int64 offset, void *pointer) {
    ShimFile *file = (ShimFile *)base;
    return file->real->pMethods->xUnfetch(file->real, offset, pointer);
}

#define SHIM_METHODS(version) {                                                              \
    version, shimClose, shimRead, shimWrite, shimTruncate, shimSync, shimFileSize, shimLock, \
    shimUnlock, shimCheckReservedLock, shimFileControl, shimSectorSize,                      \
    shimDeviceCharacteristics, shimShmMap, shimShmLock, shimShmBarrier, shimShmUnmap,        \
    shimFetch, shimUnfetch }
static const sqlite3_io_methods methodsV1 = SHIM_METHODS(1);
static const sqlite3_io_methods methodsV2 = SHIM_METHODS(2);
static const sqlite3_io_methods methodsV3 = SHIM_METHODS(3);

// MARK: - VFS methods

static int shimOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *base, int flags, int *outFlags) {
    (void)vfs;
    ShimFile *file = (ShimFile *)base;
    memset(file, 0, sizeof *file);
    file->real = (sqlite3_file *)(file + 1);
    int rc = realVFS->xOpen(realVFS, name, file->real, flags, outFlags);
    if (rc != SQLITE_OK || !file->real->pMethods) {
        base->pMethods = NULL;  // SQLite then does not call xClose
        return rc;
    }
    file->name = name;
    file->isWAL = (flags & SQLITE_OPEN_WAL) != 0;
    int version = file->real->pMethods->iVersion;
    base->pMethods = version >= 3 ? &methodsV3 : version == 2 ? &methodsV2 : &methodsV1;
    if (file->isWAL) {
        pthread_mutex_lock(&registryLock);
        file->nextWAL = openWALs;
        openWALs = file;
        pthread_mutex_unlock(&registryLock);
    }
    return SQLITE_OK;
}

static int shimDelete(sqlite3_vfs *vfs, const char *name, int syncDirectory) {
    (void)vfs;
    return realVFS->xDelete(realVFS, name, syncDirectory);
}

static int shimAccess(sqlite3_vfs *vfs, const char *name, int flags, int *result) {
    (void)vfs;
    return realVFS->xAccess(realVFS, name, flags, result);
}

static int shimFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *output) {
    (void)vfs;
    return realVFS->xFullPathname(realVFS, name, size, output);
}

static void *shimDlOpen(sqlite3_vfs *vfs, const char *name) { (void)vfs; return realVFS->xDlOpen(realVFS, name); }
static void shimDlError(sqlite3_vfs *vfs, int size, char *message) { (void)vfs; realVFS->xDlError(realVFS, size, message); }
static void (*shimDlSym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return realVFS->xDlSym(realVFS, handle, symbol);
}
static void shimDlClose(sqlite3_vfs *vfs, void *handle) { (void)vfs; realVFS->xDlClose(realVFS, handle); }
static int shimRandomness(sqlite3_vfs *vfs, int size, char *output) { (void)vfs; return realVFS->xRandomness(realVFS, size, output); }
static int shimSleep(sqlite3_vfs *vfs, int microseconds) { (void)vfs; return realVFS->xSleep(realVFS, microseconds); }
static int shimCurrentTime(sqlite3_vfs *vfs, double *time) { (void)vfs; return realVFS->xCurrentTime(realVFS, time); }
static int shimGetLastError(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    return realVFS->xGetLastError ? realVFS->xGetLastError(realVFS, size, message) : 0;
}
static int shimCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *time) {
    (void)vfs;
    return realVFS->xCurrentTimeInt64(realVFS, time);
}
static int shimSetSystemCall(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr pointer) {
    (void)vfs;
    return realVFS->xSetSystemCall(realVFS, name, pointer);
}
static sqlite3_syscall_ptr shimGetSystemCall(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return realVFS->xGetSystemCall(realVFS, name);
}
static const char *shimNextSystemCall(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return realVFS->xNextSystemCall(realVFS, name);
}

static void registerShim(void) {
    registerResult = sqlite3_initialize();
    if (registerResult != SQLITE_OK) return;
    realVFS = sqlite3_vfs_find(NULL);
    if (!realVFS || realVFS->iVersion < 3) { registerResult = SQLITE_ERROR; return; }
    shimVFS = (sqlite3_vfs){
        .iVersion = 3,
        .szOsFile = (int)sizeof(ShimFile) + realVFS->szOsFile,
        .mxPathname = realVFS->mxPathname,
        .zName = "slope-wal-buffer",
        .xOpen = shimOpen, .xDelete = shimDelete, .xAccess = shimAccess, .xFullPathname = shimFullPathname,
        .xDlOpen = shimDlOpen, .xDlError = shimDlError, .xDlSym = shimDlSym, .xDlClose = shimDlClose,
        .xRandomness = shimRandomness, .xSleep = shimSleep, .xCurrentTime = shimCurrentTime,
        .xGetLastError = shimGetLastError, .xCurrentTimeInt64 = shimCurrentTimeInt64,
        .xSetSystemCall = shimSetSystemCall, .xGetSystemCall = shimGetSystemCall,
        .xNextSystemCall = shimNextSystemCall,
    };
    registerResult = sqlite3_vfs_register(&shimVFS, 1);
}

int slope_wal_buffer_register(void) {
    pthread_once(&registerOnce, registerShim);
    return registerResult;
}

long long slope_wal_buffer_write_calls(void) {
    return __atomic_load_n(&writeCalls, __ATOMIC_RELAXED);
}

int slope_no_checkpoint_on_close(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}
