// File-system helpers that never ask the user database. Foundation's home directory and
// `attributesOfItem` call getpwuid/getgrgid (owner and group names), and glibc's NSS then opens a
// socket to nscd (/var/run/nscd/socket) on every call: a run must create no socket at all.

import Foundation

public enum FileSystem {
    /// `$HOME`, else the password database's entry for this user (the only lookup left).
    public static var homeDirectory: String {
        if let home = ProcessInfo.processInfo.environment["HOME"], !home.isEmpty { return home }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }

    /// `~` and `~/…` expanded from `homeDirectory`; `~user/…` through Foundation (a user lookup).
    public static func expandingTilde(_ path: String) -> String {
        if path == "~" { return homeDirectory }
        if path.hasPrefix("~/") { return homeDirectory + path.dropFirst() }
        if path.hasPrefix("~") { return NSString(string: path).expandingTildeInPath }
        return path
    }

    /// The size of the file at `path` (following symbolic links), nil when it cannot be stat'ed.
    public static func size(atPath path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }
}
