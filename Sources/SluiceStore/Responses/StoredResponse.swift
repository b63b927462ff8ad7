import Foundation

/// One response of the OpenAI Responses API (`/v1/responses`) as Sluice keeps it: the turn's
/// input and output items, so `previous_response_id` can rebuild the conversation for any upstream.
public struct StoredResponse: Sendable, Equatable {
    /// Where a response is in its life (the Responses API's `status` values).
    public enum Status: String, Sendable, CaseIterable {
        case queued, inProgress = "in_progress", completed, failed, cancelled, incomplete

        /// `completed`, `failed`, `cancelled` or `incomplete`: nothing will change it any more.
        public var isTerminal: Bool { self != .queued && self != .inProgress }
    }

    /// `resp_…`.
    public var id: String
    /// The virtual key's name, `""` without one (as the idempotency scope).
    public var scope: String
    /// The current status.
    public var status: Status
    /// The model the client named.
    public var model: String
    /// The response this one continues.
    public var previousResponseID: String?
    /// `false`: a tombstone, with no bodies kept; it cannot be continued.
    public var store: Bool
    /// The create body, JSON text; sealed at rest with a cipher, ``BodyCipher/unreadable`` without its key.
    public var request: String?
    /// This turn's input items, JSON array text; sealed at rest.
    public var inputItems: String?
    /// This turn's output items, JSON array text; sealed at rest.
    public var outputItems: String?
    /// The whole Responses object as last returned, JSON text; sealed at rest.
    public var response: String?
    /// The call log entry of the turn.
    public var callID: String?
    /// The durable task a background response runs as.
    public var taskID: String?
    /// Why it failed (a message, stored as is).
    public var error: String?
    /// When it was created.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date
    /// When it may be deleted; `nil` keeps it.
    public var expiresAt: Date?

    /// A response; see the properties. `updatedAt` defaults to `createdAt`.
    public init(
        id: String, scope: String = "", status: Status, model: String, previousResponseID: String? = nil, store: Bool = true,
        request: String? = nil, inputItems: String? = nil, outputItems: String? = nil, response: String? = nil,
        callID: String? = nil, taskID: String? = nil, error: String? = nil, createdAt: Date, updatedAt: Date? = nil,
        expiresAt: Date? = nil
    ) {
        self.id = id
        self.scope = scope
        self.status = status
        self.model = model
        self.previousResponseID = previousResponseID
        self.store = store
        self.request = request
        self.inputItems = inputItems
        self.outputItems = outputItems
        self.response = response
        self.callID = callID
        self.taskID = taskID
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.expiresAt = expiresAt
    }
}
