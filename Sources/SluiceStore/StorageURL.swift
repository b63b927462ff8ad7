/// A parsed `storage.url`. Printing it shows the redacted form (no password).
public enum StorageURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `sqlite://PATH` (relative paths are relative to the working directory).
    case sqlite(path: String)
    /// `postgres://USER:PASS@HOST:PORT/DB`, checked when parsed.
    case postgres(url: PostgresURL)

    /// The URL for logs: `sqlite://PATH`, or the PostgreSQL URL with its password masked.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite://\(path)"
        case .postgres(let url): url.redacted
        }
    }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// Only ``description``, so `dump` and debuggers never show the password.
    public var customMirror: Mirror { Mirror(self, children: ["url": description], displayStyle: .enum) }

    /// Parses a storage URL, or returns a message naming what is wrong.
    public static func parse(_ text: String) -> Result<StorageURL, StorageURLError> {
        if text.hasPrefix("sqlite://") {
            let path = String(text.dropFirst("sqlite://".count))
            guard !path.isEmpty else { return .failure(StorageURLError(message: "sqlite:// needs a file path, such as sqlite://./sluice.db")) }
            return .success(.sqlite(path: path))
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            do {
                return .success(.postgres(url: try PostgresURL.parse(text)))
            } catch {
                return .failure(error)
            }
        }
        return .failure(StorageURLError(message: "storage.url must start with sqlite:// or postgres://, got '\(redactingCredentials(text))'"))
    }
}

/// Why a storage URL is unusable.
public struct StorageURLError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, naming the expected form.
    public var message: String
    /// An error with this message.
    public init(message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// `text` with any `user:password@` part masked, for error messages.
func redactingCredentials(_ text: String) -> String {
    guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].lastIndex(of: "@") else { return text }
    return String(text[..<scheme.upperBound]) + "***" + String(text[at...])
}
