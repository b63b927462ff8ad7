import Foundation
import SluiceCore

extension ShadowRunner {
    static let purposeKey = Array("x-sluice-purpose".utf8)

    /// Whether the body may name a purpose in `metadata` (`x-sluice-purpose`, any case): a
    /// byte scan, so that calls without one are never parsed again.
    static func mentionsPurpose(_ body: [UInt8]) -> Bool {
        let key = purposeKey
        guard body.count >= key.count else { return false }
        return body.withUnsafeBufferPointer { buf in
            var i = 0
            let last = buf.count - key.count
            while i <= last {
                if buf[i] | 0x20 == key[0] {
                    var j = 1
                    while j < key.count, buf[i + j] | 0x20 == key[j] { j += 1 }
                    if j == key.count { return true }
                }
                i += 1
            }
            return false
        }
    }

    /// A call's body for its shadow: the shadow's model (when given), whole (a streamed call's
    /// shadow does not stream: nobody reads it as it comes), and the `x-sluice-*` keys taken out
    /// of `metadata` (the shadow sets its own attribution); `user`, else the one they named.
    static func shadowBody(_ body: [UInt8], model: String?, user headerUser: String?) -> (body: [UInt8], user: String?)? {
        guard var obj = (try? JSON.parse(body))?.objectValue else { return nil }
        if let model { obj["model"] = .string(model) }
        if obj["stream"] != nil {
            obj["stream"] = nil
            obj["stream_options"] = nil
        }
        var user = headerUser
        if var meta = obj["metadata"]?.objectValue {
            for key in meta.keys where key.lowercased().hasPrefix("x-sluice-") {
                let value = meta.removeValue(forKey: key)
                if key.lowercased() == "x-sluice-user", user == nil { user = value?.stringValue }
            }
            obj["metadata"] = meta.count == 0 ? nil : .object(meta)
        }
        return (JSON.object(obj).serialized(), user)
    }
}

/// One purpose's shadow decisions on this node since it started.
public struct ShadowCounters: Sendable, Equatable {
    /// Calls the sample picked.
    public var sampled = 0
    /// Runs that answered (200).
    public var completed = 0
    /// Runs that failed (their call rows say why).
    public var failed = 0
    /// Picked calls skipped because `max_concurrency` runs were in flight.
    public var skippedBusy = 0
    /// Picked calls skipped because the shadow's daily budget was spent.
    public var skippedBudget = 0

    /// No decisions yet.
    public init() {}

    /// The counters as JSON.
    public var json: JSON {
        [
            "sampled": .int(sampled), "completed": .int(completed), "failed": .int(failed),
            "skipped_busy": .int(skippedBusy), "skipped_budget": .int(skippedBudget),
        ]
    }
}
