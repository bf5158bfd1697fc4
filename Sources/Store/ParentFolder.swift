// Why a new file cannot go where a path says because of its folder, worded the same by every
// command that creates one (a database, `report export`, an `--out` file).
import Foundation

extension SlopeStore {
    /// Why the folder of `path` cannot hold a new file, or nil when it is an existing folder:
    /// "the folder F does not exist (create it first)", or "G is a file, not a folder (give a path
    /// in a folder)" when the folder or one above it (G) is a file. Paths are shown absolute.
    public static func folderProblem(of path: String) -> String? {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var candidate = folder
        while true {
            var info = stat()
            if stat(candidate.path, &info) == 0 {
                if info.st_mode & S_IFMT != S_IFDIR {
                    return "\(shownPath(candidate.path)) is a file, not a folder (give a path in a folder)"
                }
                return candidate == folder ? nil : "the folder \(shownPath(folder.path)) does not exist (create it first)"
            }
            let parent = candidate.deletingLastPathComponent()
            if parent.path == candidate.path { return "the folder \(shownPath(folder.path)) does not exist (create it first)" }
            candidate = parent
        }
    }
}
