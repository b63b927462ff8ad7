/// Rewrites the ECMA-262 regular expression features whose ICU meaning
/// differs, so `NSRegularExpression` matches as JSON Schema expects:
///
/// - `\d`, `\w` (and `\D`, `\W`) are ASCII-only in ECMA-262: `[0-9]`, `[A-Za-z0-9_]`;
/// - `\s` (and `\S`) is ECMA-262's whitespace set, which includes U+FEFF;
/// - `$` outside a class matches only at the very end (ICU also matches
///   before a final newline): `\z`.
///
/// Everything else is passed through; other differences remain (see docs/json-schema.md).
enum ECMAPattern {
    /// ECMA-262 `WhiteSpace` and `LineTerminator`, written for use inside an ICU class.
    private static let space = #"\t\n\u000B\f\r\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF"#
    private static let word = "A-Za-z0-9_"
    private static let digit = "0-9"

    /// The ICU form of `pattern`.
    static func translate(_ pattern: String) -> String {
        var out = ""
        var inClass = false
        var scalars = pattern.unicodeScalars[...]
        while let c = scalars.popFirst() {
            switch c {
            case "\\":
                guard let next = scalars.popFirst() else {
                    out += "\\"
                    break
                }
                out += escape(next, inClass: inClass)
            case "[" where !inClass:
                inClass = true
                out.unicodeScalars.append(c)
            case "]" where inClass:
                inClass = false
                out.unicodeScalars.append(c)
            case "$" where !inClass:
                out += #"\z"#
            default:
                out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The replacement for `\` followed by `c`. Inside a class, a positive set
    /// is spliced in and a negated one nested (ICU allows `[a[^0-9]]`).
    private static func escape(_ c: Unicode.Scalar, inClass: Bool) -> String {
        let positive: String
        switch c {
        case "d": positive = digit
        case "w": positive = word
        case "s": positive = space
        case "D": return "[^\(digit)]"
        case "W": return "[^\(word)]"
        case "S": return "[^\(space)]"
        default: return "\\" + String(c)
        }
        return inClass ? positive : "[\(positive)]"
    }
}
