/// One way an instance fails a schema: where (a JSON Pointer into the
/// instance), which keyword, and a message that says both.
///
/// ```text
/// /score: 7 is greater than the maximum 5
/// /: missing required property 'label'
/// /tags/1: expected string, got number
/// /label: 'bugg' is not one of 'bug', 'feature'
/// ```
public struct ValidationError: Sendable, Equatable, CustomStringConvertible {
    /// JSON Pointer to the failing value: `/items/2/name`; the empty string for the root.
    public var instancePath: String
    /// The schema keyword that failed (`maximum`, `required`, `anyOf`, …; `false` for a false schema).
    public var keyword: String
    /// Why it failed, without the location: `7 is greater than the maximum 5`.
    public var reason: String

    /// An error at `instancePath`.
    public init(instancePath: String, keyword: String, reason: String) {
        self.instancePath = instancePath
        self.keyword = keyword
        self.reason = reason
    }

    /// Where and why: `/score: 7 is greater than the maximum 5` (the root shows as `/`).
    public var message: String {
        "\(instancePath.isEmpty ? "/" : instancePath): \(reason)"
    }

    /// Same as ``message``.
    public var description: String { message }
}
