import Foundation

/// Finds the names a Mustache template refers to, so that variables can be
/// checked before rendering (Mustache itself renders a missing name as empty).
struct TemplateScanner {
    /// What a tag does with its name.
    enum Kind: Equatable {
        case variable, section, inverted
    }

    /// One tag's name as written (`ticket`, `customer.name`), its kind, and
    /// whether it sits outside every section (so it must come from the variables).
    struct Reference: Equatable {
        var name: String
        var kind: Kind
        var topLevel: Bool
        /// The first segment of a dotted name: the variable it reads.
        var root: String { String(name.split(separator: ".", maxSplits: 1).first ?? Substring(name)) }
    }

    /// The references in `template`, in order. Comments, partials and
    /// delimiter changes are understood; the template's syntax is checked by the parser, not here.
    static func references(in template: String) -> [Reference] {
        var open = Array("{{".utf8)
        var close = Array("}}".utf8)
        let t = Array(template.utf8)
        var out: [Reference] = []
        var depth = 0
        var i = 0
        func find(_ needle: [UInt8], from: Int) -> Int? {
            guard !needle.isEmpty, from + needle.count <= t.count else { return nil }
            var j = from
            while j + needle.count <= t.count {
                if t[j] == needle[0], Array(t[j..<(j + needle.count)]) == needle { return j }
                j += 1
            }
            return nil
        }
        while let start = find(open, from: i) {
            var bodyStart = start + open.count
            var closer = close
            if open == Array("{{".utf8), bodyStart < t.count, t[bodyStart] == UInt8(ascii: "{") {
                bodyStart += 1
                closer = Array("}}}".utf8)
            }
            guard let end = find(closer, from: bodyStart) else { break }
            i = end + closer.count
            var body = String(decoding: t[bodyStart..<end], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if closer.count == 3 {
                out.append(Reference(name: body, kind: .variable, topLevel: depth == 0))
                continue
            }
            guard let sigil = body.first else { continue }
            switch sigil {
            case "!", ">", "%", "<", "$": continue
            case "=":
                // {{=<% %>=}}: new delimiters.
                body = String(body.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                let parts = body.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count == 2 {
                    open = Array(parts[0].utf8)
                    close = Array(parts[1].utf8)
                }
            case "#", "^":
                let name = String(body.dropFirst()).trimmingCharacters(in: .whitespaces)
                out.append(Reference(name: Self.stripTransforms(name), kind: sigil == "#" ? .section : .inverted, topLevel: depth == 0))
                depth += 1
            case "/":
                depth = max(0, depth - 1)
            case "&":
                let name = String(body.dropFirst()).trimmingCharacters(in: .whitespaces)
                out.append(Reference(name: Self.stripTransforms(name), kind: .variable, topLevel: depth == 0))
            default:
                out.append(Reference(name: Self.stripTransforms(body), kind: .variable, topLevel: depth == 0))
            }
        }
        return out
    }

    /// `uppercased(name)` → `name` (swift-mustache transforms).
    static func stripTransforms(_ name: String) -> String {
        var n = Substring(name)
        while let open = n.firstIndex(of: "("), n.hasSuffix(")") {
            n = n[n.index(after: open)..<n.index(before: n.endIndex)]
        }
        return String(n)
    }
}
