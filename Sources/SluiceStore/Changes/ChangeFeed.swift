import Foundation
import SluiceCore

/// A change one node announces to every node: a flag set, a kill switch flipped.
public struct Change: Sendable, Equatable {
    /// What changed, such as `flags` or `keys`.
    public var topic: String
    /// Detail for the subscribers (small: PostgreSQL caps a notification at 8,000 bytes).
    public var payload: String

    /// A change; see the properties.
    public init(topic: String, payload: String = "") {
        self.topic = topic
        self.payload = payload
    }

    var wire: String { JSON.object(["topic": .string(topic), "payload": .string(payload)]).jsonString }

    init?(wire: String) {
        guard let o = (try? JSON.parse(wire))?.objectValue, let topic = o["topic"]?.stringValue else { return nil }
        self.init(topic: topic, payload: o["payload"]?.stringValue ?? "")
    }
}

/// What a subscriber receives.
public enum ChangeEvent: Sendable, Equatable {
    /// A change published by some node (this one included).
    case change(Change)
    /// Notifications may have been missed (the connection was lost and is back): reload everything.
    case resync
}

/// Change notification across nodes: PostgreSQL `LISTEN`/`NOTIFY`, or in-process for SQLite.
public protocol ChangeFeed: Sendable {
    /// Announces a change to every subscriber on every node.
    func publish(_ change: Change) async throws
    /// A stream of changes. Returns once the subscription is live (or after a
    /// short wait when the database is away; a `.resync` follows when it is back).
    func subscribe() async -> AsyncStream<ChangeEvent>
    /// True while notifications are being received.
    var isListening: Bool { get }
}
