#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads secrets from files: relative paths are looked up in `$CREDENTIALS_DIRECTORY` (systemd
/// `LoadCredential=`) when it is set, else next to the configuration file.
public enum SecretFile {
    /// Why a secret file could not be used. The message names the file, never its content.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "secret file \(path): \(reason)" }
    }

    /// The absolute path of a secret file named in the configuration.
    public static func resolve(_ path: String, configDirectory: String,
                               credentialsDirectory: String? = environment("CREDENTIALS_DIRECTORY")) -> String {
        if path.hasPrefix("/") { return path }
        let base = (credentialsDirectory?.isEmpty == false ? credentialsDirectory! : configDirectory)
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }

    /// Reads the secret, stripping exactly one trailing `\n` or `\r\n`. Empty secrets are refused.
    public static func read(_ path: String) throws -> Secret {
        guard let file = fopen(path, "rb") else {
            throw Failure(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
            if n < buffer.count {
                if ferror(file) != 0 { throw Failure(path: path, reason: "read error") }
                break
            }
            if bytes.count > 65536 { throw Failure(path: path, reason: "larger than 64 KiB; not a secret file?") }
        }
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        guard !bytes.isEmpty else { throw Failure(path: path, reason: "is empty") }
        return Secret(bytes: bytes)
    }

    /// Whether the file can be read by group or others (worth a warning for a secret).
    public static func isShared(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & 0o077 != 0
    }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}
