/// An exact decimal reading of a JSON number's text, used for comparisons,
/// integer checks and `multipleOf` without the rounding of `Double`.
///
/// The value is `±significand × 10^exponent`, where `significand` holds
/// decimal digits with no leading or trailing zeros (empty for zero). Equal
/// numbers therefore have equal fields: `1`, `1.0` and `10e-1` all read as
/// digits `[1]`, exponent `0`.
struct JSONNumber: Sendable, Equatable, Comparable {
    /// True for values below zero (never for zero itself).
    var negative: Bool
    /// Significand digits, 0–9, no leading or trailing zeros; empty for zero.
    var digits: [UInt8]
    /// Power of ten applied to `digits` read as an integer.
    var exponent: Int
    /// The source text, kept for messages.
    var text: String

    /// Exponents are clamped to this magnitude so absurd texts (`1e999999999999`) stay finite.
    private static let exponentLimit = 1_000_000_000

    /// Reads JSON number text (`-12.5e3`); `nil` if the text is not a number.
    init?(_ text: String) {
        var negative = false
        var digits: [UInt8] = []
        var exponent = 0
        var fractionDigits = 0
        var seenDigit = false
        var utf8 = Array(text.utf8)[...]
        if utf8.first == UInt8(ascii: "-") {
            negative = true
            utf8 = utf8.dropFirst()
        } else if utf8.first == UInt8(ascii: "+") {
            utf8 = utf8.dropFirst()
        }
        var inFraction = false
        while let c = utf8.first, c != UInt8(ascii: "e"), c != UInt8(ascii: "E") {
            utf8 = utf8.dropFirst()
            if c == UInt8(ascii: ".") {
                guard !inFraction else { return nil }
                inFraction = true
                continue
            }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            seenDigit = true
            if inFraction { fractionDigits += 1 }
            if digits.isEmpty, c == UInt8(ascii: "0") { continue }
            digits.append(c - UInt8(ascii: "0"))
        }
        guard seenDigit else { return nil }
        if !utf8.isEmpty {
            utf8 = utf8.dropFirst()
            var expNegative = false
            if utf8.first == UInt8(ascii: "-") || utf8.first == UInt8(ascii: "+") {
                expNegative = utf8.first == UInt8(ascii: "-")
                utf8 = utf8.dropFirst()
            }
            guard !utf8.isEmpty else { return nil }
            var value = 0
            for c in utf8 {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                value = min(value * 10 + Int(c - UInt8(ascii: "0")), Self.exponentLimit)
            }
            exponent = expNegative ? -value : value
        }
        exponent -= fractionDigits
        while digits.last == 0 {
            digits.removeLast()
            exponent += 1
        }
        if digits.isEmpty {
            negative = false
            exponent = 0
        }
        self.negative = negative
        self.digits = digits
        self.exponent = exponent
        self.text = text
    }

    /// True when the value has no fractional part (`1.0` and `1e3` are integers).
    var isInteger: Bool { digits.isEmpty || exponent >= 0 }

    /// True for zero.
    var isZero: Bool { digits.isEmpty }

    /// The nearest `Double`, for the rare paths that cannot stay exact.
    var doubleValue: Double { Double(text) ?? .nan }

    /// Numeric equality: the source text is ignored.
    static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        lhs.negative == rhs.negative && lhs.exponent == rhs.exponent && lhs.digits == rhs.digits
    }

    /// Numeric order.
    static func < (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        if lhs.negative != rhs.negative { return lhs.negative }
        let magnitudeLess = compareMagnitude(lhs, rhs)
        guard magnitudeLess != 0 else { return false }
        return lhs.negative ? magnitudeLess > 0 : magnitudeLess < 0
    }

    /// -1, 0 or 1 as `|lhs|` is below, equal to or above `|rhs|`.
    private static func compareMagnitude(_ lhs: JSONNumber, _ rhs: JSONNumber) -> Int {
        if lhs.isZero || rhs.isZero { return lhs.isZero ? (rhs.isZero ? 0 : -1) : 1 }
        // Position of the leading digit: a larger one means a larger magnitude.
        let lhsOrder = lhs.digits.count + lhs.exponent
        let rhsOrder = rhs.digits.count + rhs.exponent
        if lhsOrder != rhsOrder { return lhsOrder < rhsOrder ? -1 : 1 }
        // Same order: digits compare left to right; a shorter prefix is smaller.
        for (a, b) in zip(lhs.digits, rhs.digits) where a != b { return a < b ? -1 : 1 }
        if lhs.digits.count == rhs.digits.count { return 0 }
        return lhs.digits.count < rhs.digits.count ? -1 : 1
    }

    /// True when `self / divisor` is an integer. Exact when the divisor's
    /// significand has at most 18 digits; otherwise falls back to `Double`.
    func isMultiple(of divisor: JSONNumber) -> Bool {
        if isZero { return true }
        guard !divisor.isZero else { return false }
        // self = a × 10^ea, divisor = b × 10^eb, neither a nor b divisible by 10.
        // If ea < eb, the quotient needs a divisible by 10: impossible.
        guard exponent >= divisor.exponent else { return false }
        guard divisor.digits.count <= 18 else { return doubleMultiple(of: divisor) }
        let b = UInt64(divisor.digits.reduce(0) { $0 * 10 + UInt64($1) })
        var remainder: UInt64 = 0
        for d in digits { remainder = (remainder * 10 + UInt64(d)) % b }
        let scale = Self.powerOfTen(exponent - divisor.exponent, modulo: b)
        return Self.mulMod(remainder, scale, b) == 0
    }

    private func doubleMultiple(of divisor: JSONNumber) -> Bool {
        let quotient = doubleValue / divisor.doubleValue
        guard quotient.isFinite else { return false }
        return quotient.rounded() == quotient
    }

    /// `10^power mod modulus` by square and multiply.
    private static func powerOfTen(_ power: Int, modulo modulus: UInt64) -> UInt64 {
        var result: UInt64 = 1 % modulus
        var base: UInt64 = 10 % modulus
        var power = power
        while power > 0 {
            if power & 1 == 1 { result = mulMod(result, base, modulus) }
            base = mulMod(base, base, modulus)
            power >>= 1
        }
        return result
    }

    private static func mulMod(_ a: UInt64, _ b: UInt64, _ modulus: UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        return modulus.dividingFullWidth((high % modulus, low)).remainder
    }
}
