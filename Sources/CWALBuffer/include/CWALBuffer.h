// CWALBuffer: a thin SQLite VFS over the default one that gathers the small writes SQLite
// makes to a WAL file (a 24-byte frame header, then the page, for every frame) into one
// write per transaction. See wal_buffer.c.
#ifndef SLOPE_CWALBUFFER_H
#define SLOPE_CWALBUFFER_H

/// Registers the VFS "slope-wal-buffer" as the process's default (once; later calls do
/// nothing). Returns an SQLite result code.
int slope_wal_buffer_register(void);

/// Write calls the VFS passed to the underlying file for WAL files since the process started
/// (for tests: a transaction of many frames costs one call).
long long slope_wal_buffer_write_calls(void);

struct sqlite3;

/// Tells SQLite not to checkpoint when `db` closes (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE). A closing
/// connection that may checkpoint first asks for an exclusive lock on the database file, and
/// while it holds even the pending part of it a reader without a busy timeout (a sqlite3 shell)
/// fails with "database is locked". Returns an SQLite result code.
int slope_no_checkpoint_on_close(struct sqlite3 *db);

#endif
