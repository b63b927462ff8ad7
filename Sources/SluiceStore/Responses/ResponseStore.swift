import Foundation

/// The conversation state of the Responses API (`/v1/responses`), shared by every node.
/// Lookups are by id only: checking that a response belongs to the caller's `scope` is the route's job.
public protocol ResponseStore: Sendable {
    /// Stores `r`, replacing the stored response with its id.
    func saveResponse(_ r: StoredResponse) async throws
    /// The response with this id, or `nil`.
    func response(_ id: String) async throws -> StoredResponse?
    /// Deletes the response; `false` when there was none.
    func deleteResponse(_ id: String) async throws -> Bool
    /// The response and its ancestors by ``StoredResponse/previousResponseID``, oldest first: the
    /// response and its nearest `limit - 1` ancestors (none for `limit <= 0`, none for an unknown id).
    /// The chain stops at an ancestor that is no longer stored.
    func responseChain(_ id: String, limit: Int) async throws -> [StoredResponse]
    /// Compare-and-set: sets `status`, `error` (`nil` clears it) and `updatedAt = now` only when the
    /// current status is one of `onlyFrom`, in one statement. Returns the response as changed, or
    /// `nil` when nothing changed (no such response, or its status was not in `onlyFrom`). The
    /// stored `response` object is left as it is.
    func updateResponseStatus(
        _ id: String, status: StoredResponse.Status, error: String?, now: Date, onlyFrom: [StoredResponse.Status]
    ) async throws -> StoredResponse?
    /// Deletes responses whose `expiresAt` is before `before`; returns how many.
    func deleteExpiredResponses(before: Date) async throws -> Int
}
