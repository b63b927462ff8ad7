import Foundation

/// Classifies text by Unicode script for input drift: which writing system most of its
/// letters belong to. Deterministic, in process, no language model.
public enum ScriptClassifier {
    /// The scripts told apart; everything else with letters is `other`.
    public static let scripts = ["latin", "cjk", "cyrillic", "arabic", "other"]

    /// The script of one scalar, or `nil` for digits, punctuation, spaces and symbols.
    public static func script(of u: Unicode.Scalar) -> String? {
        switch u.value {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F, 0x1E00...0x1EFF: return "latin"
        case 0x400...0x52F, 0x1C80...0x1C8F, 0x2DE0...0x2DFF, 0xA640...0xA69F: return "cyrillic"
        case 0x600...0x6FF, 0x750...0x77F, 0x8A0...0x8FF, 0xFB50...0xFDFF, 0xFE70...0xFEFF: return "arabic"
        case 0x3040...0x30FF, 0x3100...0x312F, 0x31F0...0x31FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF,
            0x1100...0x11FF, 0xF900...0xFAFF, 0x20000...0x2FA1F:
            return "cjk"
        default:
            return u.properties.isAlphabetic ? "other" : nil
        }
    }

    /// Letters per script in `text`.
    public static func counts(_ text: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for u in text.unicodeScalars { if let s = script(of: u) { out[s, default: 0] += 1 } }
        return out
    }

    /// The most letters ``measure(_:)`` classifies: enough to tell the mix, cheap on a long prompt.
    static let sampleLetters = 4096

    /// The length in characters (Unicode scalars) of `texts` together, and the dominant script of
    /// their first ``sampleLetters`` letters (`nil` when there are none). Linear, no allocation per text.
    public static func measure<S: Sequence<String>>(_ texts: S) -> (chars: Int, script: String?) {
        var chars = 0
        // Per index of ``scripts``: this runs on every call's input, so no hashing per letter.
        var counts = [Int](repeating: 0, count: scripts.count)
        var seen = 0
        for text in texts {
            let scalars = text.unicodeScalars
            chars += scalars.count
            guard seen < sampleLetters else { continue }
            for u in scalars {
                guard let s = index(of: u) else { continue }
                counts[s] += 1
                seen += 1
                if seen >= sampleLetters { break }
            }
        }
        guard let top = counts.max(), top > 0 else { return (chars, nil) }
        return (chars, scripts[counts.firstIndex(of: top)!])
    }

    /// ``script(of:)`` as an index of ``scripts``.
    static func index(of u: Unicode.Scalar) -> Int? {
        switch u.value {
        case 0x41...0x5A, 0x61...0x7A: return 0  // ASCII letters first: most input is English
        case 0...0x7F: return nil
        default: return script(of: u).flatMap { scripts.firstIndex(of: $0) }
        }
    }

    /// The script most of `text`'s letters are in (ties go to the earlier of ``scripts``);
    /// `nil` when it has no letters.
    public static func dominant(_ text: String) -> String? {
        let c = counts(text)
        guard let top = c.values.max(), top > 0 else { return nil }
        return scripts.first { c[$0] == top }
    }
}
