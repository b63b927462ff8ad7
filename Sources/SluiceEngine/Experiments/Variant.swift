import Foundation
import SluiceCore

/// One arm of a purpose's split: a share of its calls that run another prompt
/// version and/or model. Shares are percents; what they leave below 100 runs
/// the purpose's own prompt version and model (the `base` arm).
public struct Variant: Sendable, Equatable {
    /// The arm's name, recorded on every call it serves (`v4`).
    public var name: String
    /// Its share of calls, 0…100.
    public var percent: Double
    /// The prompt version it renders; the purpose's when `nil`.
    public var promptVersion: String?
    /// The configured model it calls; the purpose's when `nil`.
    public var model: String?

    /// An arm; see the properties.
    public init(name: String, percent: Double, promptVersion: String? = nil, model: String? = nil) {
        self.name = name
        self.percent = percent
        self.promptVersion = promptVersion
        self.model = model
    }

    /// The name recorded for calls that fall in no arm.
    public static let base = "base"

    /// Parses `{v3: 90, v4: 10}` (a name is a prompt version) or
    /// `{a: {percent: 50, prompt_version: v3, model: smart}, …}`; arms sorted by name.
    /// The message of a thrown error names the arm and what is wrong.
    public static func parseList(_ json: JSON) throws(VariantError) -> [Variant] {
        guard let obj = json.objectValue else {
            throw VariantError("variants must be a map of arm to percent, such as {\"v3\": 90, \"v4\": 10}")
        }
        var out: [Variant] = []
        for (name, value) in obj.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, name.count <= 64, name != base, name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
                throw VariantError("variant name '\(name)' must be 1–64 letters, digits or _-. (and not '\(base)')")
            }
            var v = Variant(name: name, percent: 0)
            if let p = value.doubleValue {
                v.percent = p
                v.promptVersion = name
            } else if let o = value.objectValue {
                for key in o.keys where !["percent", "weight", "prompt_version", "model"].contains(key) {
                    throw VariantError("variant '\(name)': unknown key '\(key)'; use percent, prompt_version, model")
                }
                guard let p = (o["percent"] ?? o["weight"])?.doubleValue else { throw VariantError("variant '\(name)' needs a percent") }
                v.percent = p
                v.promptVersion = o["prompt_version"]?.stringValue
                v.model = o["model"]?.stringValue
                if v.promptVersion == nil && v.model == nil {
                    throw VariantError("variant '\(name)' needs prompt_version and/or model")
                }
            } else {
                throw VariantError("variant '\(name)' must be a percent or {percent, prompt_version, model}")
            }
            guard v.percent >= 0, v.percent <= 100 else { throw VariantError("variant '\(name)': percent must be 0…100, got \(v.percent)") }
            out.append(v)
        }
        let total = out.reduce(0) { $0 + $1.percent }
        guard total <= 100.000_001 else {
            throw VariantError("variant percents add up to \(Decimals.format(total, places: 2, trim: true)); they must total at most 100 (the rest runs the base)")
        }
        return out
    }

    /// The arms as JSON, in the object form when an arm is more than a prompt version.
    public static func json(_ list: [Variant]) -> JSON {
        var obj = JSONObject()
        for v in list {
            if v.promptVersion == v.name, v.model == nil {
                obj[v.name] = .double(v.percent)
            } else {
                var o: JSONObject = ["percent": .double(v.percent)]
                if let p = v.promptVersion { o["prompt_version"] = .string(p) }
                if let m = v.model { o["model"] = .string(m) }
                obj[v.name] = .object(o)
            }
        }
        return .object(obj)
    }

    /// The arm for a call: the same user of a purpose always lands in the same arm
    /// (a hash of purpose and user picks a point in 0…100); without a user, a random one.
    /// `nil` when the point falls past every arm (the base runs).
    public static func pick(_ arms: [Variant], purpose: String, user: String?) -> Variant? {
        guard !arms.isEmpty else { return nil }
        let point: Double
        if let user, !user.isEmpty {
            let digest = Hashing.sha256Hex(Array("\(purpose)\u{0}\(user)".utf8))
            point = Double(UInt64(digest.prefix(12), radix: 16)! % 1_000_000) / 10_000
        } else {
            point = Double.random(in: 0..<100)
        }
        var edge = 0.0
        for arm in arms {
            edge += arm.percent
            if point < edge { return arm }
        }
        return nil
    }
}

/// A variants value that cannot be used; the message says why.
public struct VariantError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
