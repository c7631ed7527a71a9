import Foundation

/// One mixer-sync at a time per state directory: an exclusive `flock` on `STATE/lock`, held until release or exit.
public final class StateLock: @unchecked Sendable {
    private let fd: Int32

    /// Throws when another process holds the lock (its PID, when it wrote one, is in the message).
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = directory + "/lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw StateError("another mixer-sync holds \(path)\(holder.isEmpty ? "" : " (pid \(holder))")")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    deinit { close(fd) }
}
