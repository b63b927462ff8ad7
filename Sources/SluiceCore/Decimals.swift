/// Fixed-point decimal formatting without `String(format:)`, which is slow on Linux.
public enum Decimals {
    /// `value` rounded to `places` decimals; with `trim`, trailing zeros (and a bare point) are dropped.
    public static func format(_ value: Double, places: Int, trim: Bool) -> String {
        guard value.isFinite else { return "0" }
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let negative = value < 0
        let scaled = (abs(value) * Double(scale)).rounded()
        guard scaled < 9.2e18 else { return String(value) }
        let n = UInt64(scaled)
        var whole = String(n / scale)
        var frac = String(n % scale)
        if frac.count < places { frac = String(repeating: "0", count: places - frac.count) + frac }
        if trim {
            while frac.last == "0" { frac.removeLast() }
        }
        if negative && n != 0 { whole = "-" + whole }
        return frac.isEmpty ? whole : whole + "." + frac
    }
}
