import Foundation

/// Finds personal data and secrets in text: e-mail addresses, phone numbers,
/// card numbers (Luhn-checked), US social security numbers, IBANs (mod-97
/// checked), IPv4 and IPv6 addresses, and API keys and tokens.
public struct PIIDetector: Sendable {
    /// What a match is.
    public enum Kind: String, Sendable, CaseIterable {
        case email = "EMAIL", phone = "PHONE", card = "CARD", ssn = "SSN", iban = "IBAN", ip = "IP", secret = "SECRET"
    }

    /// One match: its kind and where it is.
    public struct Match: Sendable, Equatable {
        /// The kind.
        public var kind: Kind
        /// The range in the scanned text.
        public var range: Range<String.Index>
        /// The matched text.
        public var value: String
    }

    // Order matters: earlier patterns win where matches overlap (a key before the digits inside it).
    private static let patterns: [(Kind, String)] = [
        (.secret, #"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35}|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"#),
        (.secret, #"(?i)\bbearer\s+[A-Za-z0-9_\-\.=]{20,}"#),
        (.email, #"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"#),
        (.iban, #"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"#),
        (.card, #"\b(?:\d[ \-]?){12,18}\d\b"#),
        (.ssn, #"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"#),
        (.ip, #"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"#),
        (.ip, #"(?i)(?<![0-9a-f:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![0-9a-f:])|(?<![0-9a-f:])(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4}(?![0-9a-f:])"#),
        // Not part of a longer digit run (a card number that failed its checksum is not a phone number).
        (.phone, #"(?<![\w+])(?<!\d[ .\-])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{2,4}\)[ .\-]?)?\d{2,4}[ .\-]\d{3,4}(?:[ .\-]?\d{2,4})?(?![ .\-]?\d)(?!\w)"#),
    ]

    private static let compiled: [(Kind, NSRegularExpression)] = patterns.map { ($0.0, try! NSRegularExpression(pattern: $0.1)) }

    /// A detector for every kind.
    public init() {}

    /// The matches in `text`, in order, without overlaps.
    public func matches(in text: String) -> [Match] {
        guard !text.isEmpty else { return [] }
        let ns = text as NSString
        var taken: [NSRange] = []
        var out: [Match] = []
        for (kind, regex) in Self.compiled {
            for m in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
                let r = m.range
                guard !taken.contains(where: { NSIntersectionRange($0, r).length > 0 }) else { continue }
                let value = ns.substring(with: r)
                guard Self.confirm(kind, value) else { continue }
                guard let range = Range(r, in: text) else { continue }
                taken.append(r)
                out.append(Match(kind: kind, range: range, value: value))
            }
        }
        return out.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    /// Checksums and shape checks that cut false positives.
    static func confirm(_ kind: Kind, _ value: String) -> Bool {
        switch kind {
        case .card: return luhn(value.filter(\.isNumber))
        case .iban: return ibanValid(value.filter { !$0.isWhitespace })
        case .phone: return value.filter(\.isNumber).count >= 9
        default: return true
        }
    }

    /// The Luhn checksum of 13–19 digits.
    static func luhn(_ digits: String) -> Bool {
        guard (13...19).contains(digits.count) else { return false }
        var sum = 0
        for (i, c) in digits.reversed().enumerated() {
            guard var d = c.wholeNumberValue else { return false }
            if i % 2 == 1 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
        }
        return sum % 10 == 0
    }

    /// The IBAN mod-97 check.
    static func ibanValid(_ iban: String) -> Bool {
        guard (15...34).contains(iban.count) else { return false }
        let rearranged = iban.dropFirst(4) + iban.prefix(4)
        var remainder = 0
        for c in rearranged {
            if let d = c.wholeNumberValue {
                remainder = (remainder * 10 + d) % 97
            } else if let a = c.asciiValue, (65...90).contains(a) {
                remainder = (remainder * 100 + Int(a) - 55) % 97
            } else {
                return false
            }
        }
        return remainder == 1
    }
}
