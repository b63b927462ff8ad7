import Foundation
import SluiceCore

/// The command-line forms of flag values: `triage.variants=v3:90,v4:10`,
/// `triage.model=smart`, `triage.disabled=true`, `triage.shadow=model=smart,sample=0.1`,
/// any JSON value, and `null` to remove a flag.
public enum FlagText {
    /// Parses `KEY=VALUE` into the key and its JSON value.
    public static func assignment(_ text: String) throws(VariantError) -> (String, JSON) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw VariantError("'\(text)' is not KEY=VALUE, such as triage.variants=v3:90,v4:10")
        }
        let key = String(text[..<eq])
        let raw = String(text[text.index(after: eq)...])
        guard let (_, name) = FlagKey.split(key) else {
            throw VariantError("unknown flag '\(key)'; flags are PURPOSE.\(FlagKey.allCases.map(\.rawValue).joined(separator: ", PURPOSE."))")
        }
        return (key, try value(raw, for: name))
    }

    /// The JSON value of `raw` for a flag named `name`.
    public static func value(_ raw: String, for name: FlagKey) throws(VariantError) -> JSON {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        if trimmed == "null" { return .null }
        if let json = try? JSON.parse(Array(trimmed.utf8)), json.objectValue != nil || json.boolValue != nil || json.stringValue != nil {
            return json
        }
        switch name {
        case .variants:
            var obj = JSONObject()
            for part in trimmed.split(separator: ",") {
                let pair = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, let percent = Double(pair[1]) else {
                    throw VariantError("variants are ARM:PERCENT pairs such as v3:90,v4:10; got '\(part)'")
                }
                obj[pair[0]] = .double(percent)
            }
            return .object(obj)
        case .disabled:
            guard let b = Bool(trimmed.lowercased()) else { throw VariantError("disabled is true or false; got '\(raw)'") }
            return .bool(b)
        case .model:
            return .string(trimmed)
        case .shadow, .guard:
            return .object(try pairs(trimmed))
        }
    }

    /// `a=1,b=x` as an object: numbers and booleans become JSON numbers and booleans.
    public static func pairs(_ text: String) throws(VariantError) -> JSONObject {
        var obj = JSONObject()
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, !pair[0].isEmpty else { throw VariantError("expected NAME=VALUE pairs separated by commas; got '\(part)'") }
            if let n = Double(pair[1]) {
                obj[pair[0]] = n.rounded() == n && !pair[1].contains(".") ? .int(Int(n)) : .double(n)
            } else if let b = Bool(pair[1]) {
                obj[pair[0]] = .bool(b)
            } else {
                obj[pair[0]] = .string(pair[1])
            }
        }
        return obj
    }
}
