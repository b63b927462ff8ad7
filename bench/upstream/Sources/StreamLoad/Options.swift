// stream-load: flags, the precomputed request, and the report.
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let usage = """
usage: stream-load --url http://HOST:PORT/path --body STRING [--connections 100] [--duration 30]
                   [--warmup 0] [--header 'Name: value']... [--timeout 10] [--threads 1]
                   [--ramp-ms 1000] [--expect '[DONE]']
"""

struct Options: Sendable {
    var host = "", port = 80, path = "/"
    var connections = 100
    var duration = 30.0, warmup = 0.0, timeout = 10.0
    var headers: [(String, String)] = []
    var body: String?
    var threads = 1
    var rampMs = 1000
    var expect = "[DONE]"

    static func parse(_ args: [String]) -> Options {
        var o = Options()
        var url: String?
        var i = 0
        func value(_ name: String) -> String {
            i += 1
            guard i < args.count else { fail("\(name) needs a value") }
            return args[i]
        }
        func int(_ name: String, min: Int) -> Int {
            let v = value(name)
            guard let n = Int(v), n >= min else { fail("\(name) must be a whole number >= \(min), got '\(v)'") }
            return n
        }
        func seconds(_ name: String, min: Double) -> Double {
            let v = value(name)
            guard let s = Double(v), s.isFinite, s >= min else { fail("\(name) must be a number of seconds >= \(fmt(min)), got '\(v)'") }
            return s
        }
        while i < args.count {
            switch args[i] {
            case "--url": url = value("--url")
            case "--connections": o.connections = int("--connections", min: 1)
            case "--duration": o.duration = seconds("--duration", min: 0.1)
            case "--warmup": o.warmup = seconds("--warmup", min: 0)
            case "--timeout": o.timeout = seconds("--timeout", min: 0.1)
            case "--threads": o.threads = int("--threads", min: 1)
            case "--ramp-ms": o.rampMs = int("--ramp-ms", min: 0)
            case "--body": o.body = value("--body")
            case "--expect": o.expect = value("--expect")
            case "--header":
                let h = value("--header")
                guard let colon = h.firstIndex(of: ":") else { fail("--header must look like 'Name: value', got '\(h)'") }
                let name = trim(h[..<colon]), val = trim(h[h.index(after: colon)...])
                guard !name.isEmpty, !name.contains(" ") else { fail("--header has a bad name in '\(h)'") }
                o.headers.append((name, val))
            case "-h", "--help":
                print(usage)
                exit(0)
            default: fail("unknown argument '\(args[i])'\n\(usage)")
            }
            i += 1
        }
        guard let url else { fail("--url is required\n\(usage)") }
        guard o.body != nil else { fail("--body is required\n\(usage)") }
        o.parseURL(url)
        return o
    }

    private mutating func parseURL(_ url: String) {
        guard url.hasPrefix("http://") else { fail("--url must start with http:// (https is not supported), got '\(url)'") }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var authority = rest[..<slash]
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {  // [::1]:8080
            host = String(authority[authority.index(after: authority.startIndex) ..< close])
            authority = authority[authority.index(after: close)...]
            if !authority.isEmpty && !authority.hasPrefix(":") { fail("bad --url '\(url)'") }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            authority = authority[colon...]
        } else {
            host = String(authority)
            authority = ""
        }
        if authority.hasPrefix(":") {
            guard let p = Int(authority.dropFirst()), (1 ... 65535).contains(p) else { fail("bad port in --url '\(url)'") }
            port = p
        }
        if host.isEmpty { fail("no host in --url '\(url)'") }
    }
}

func trim(_ s: Substring) -> String {
    String(s.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
}

/// Everything a connection needs, computed once.
struct Plan: Sendable {
    let address: SocketAddress
    let head: HTTPRequestHead
    let body: ByteBuffer
    let expect: [UInt8]
    /// KMP failure function of `expect`.
    let expectFail: [Int]
    let timeout: TimeAmount
    let sweepEvery: TimeAmount
    let windowStart: NIODeadline
    let windowEnd: NIODeadline

    init(options o: Options, address: SocketAddress, start: NIODeadline) {
        self.address = address
        body = ByteBuffer(string: o.body ?? "")
        var headers = HTTPHeaders()
        if !o.headers.contains(where: { $0.0.lowercased() == "host" }) {
            headers.add(name: "Host", value: o.port == 80 ? o.host : "\(o.host.contains(":") ? "[\(o.host)]" : o.host):\(o.port)")
        }
        headers.add(name: "Content-Type", value: "application/json")
        for (n, v) in o.headers where n.lowercased() != "content-length" && n.lowercased() != "content-type" { headers.add(name: n, value: v) }
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        head = HTTPRequestHead(version: .http1_1, method: .POST, uri: o.path, headers: headers)
        expect = Array(o.expect.utf8)
        var f = [Int](repeating: 0, count: expect.count)
        var k = 0
        for q in expect.indices.dropFirst() {
            while k > 0 && expect[k] != expect[q] { k = f[k - 1] }
            if expect[k] == expect[q] { k += 1 }
            f[q] = k
        }
        expectFail = f
        timeout = seconds(o.timeout)
        sweepEvery = min(.milliseconds(100), .nanoseconds(timeout.nanoseconds / 10))
        windowStart = start + seconds(o.warmup)
        windowEnd = windowStart + seconds(o.duration)
    }
}

func seconds(_ s: Double) -> TimeAmount { .nanoseconds(Int64((s * 1e9).rounded())) }

// MARK: - helpers and report

func warn(_ message: String) {
    var err = "stream-load: \(message)\n"
    err.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    warn(message)
    exit(2)
}

/// Raises RLIMIT_NOFILE to its hard limit; returns the soft limit now in force.
func raiseFileLimit() -> UInt64 {
    var rl = rlimit()
    #if os(Linux)
    let res = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    let res = RLIMIT_NOFILE
    #endif
    guard getrlimit(res, &rl) == 0 else { return 0 }
    if rl.rlim_cur < rl.rlim_max {
        var want = rl
        want.rlim_cur = rl.rlim_max
        if setrlimit(res, &want) == 0 { rl = want }
    }
    return UInt64(rl.rlim_cur)
}

/// A number with at most one decimal, no trailing `.0`.
func fmt(_ x: Double) -> String {
    let tenths = Int64((x * 10).rounded())
    let whole = String(tenths / 10)
    return tenths % 10 == 0 ? whole : whole + "." + String(abs(tenths % 10))
}

/// Nearest-rank percentile of sorted samples (0 when there are none).
func percentile(_ sorted: [Int64], _ p: Double) -> Int64 {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count, max(rank, 1)) - 1]
}

func report(_ t: Tally, options o: Options) {
    let ttfc = t.ttfcUs.sorted(), total = t.totalUs.sorted()
    let errors = t.non200 + t.socket + t.timeouts + t.badBody
    let rps = Double(t.requests) / o.duration
    let f = (p50: percentile(ttfc, 0.5), p90: percentile(ttfc, 0.9), p99: percentile(ttfc, 0.99), max: ttfc.last ?? 0)
    let w = (p50: percentile(total, 0.5), p99: percentile(total, 0.99))
    print("STREAM_RESULT requests=\(t.requests) rps=\(fmt(rps)) errors=\(errors) non200=\(t.non200) socket=\(t.socket) timeouts=\(t.timeouts) bad_body=\(t.badBody) ttfc_p50_us=\(f.p50) ttfc_p90_us=\(f.p90) ttfc_p99_us=\(f.p99) ttfc_max_us=\(f.max) total_p50_us=\(w.p50) total_p99_us=\(w.p99) connections=\(o.connections) duration_s=\(fmt(o.duration)) sent=\(t.sent) all_completed=\(t.allCompleted)")
    func ms(_ us: Int64) -> String { fmt(Double(us) / 1000) + " ms" }
    print("\(t.requests) streams completed in the \(fmt(o.duration)) s window (\(fmt(rps))/s) over \(o.connections) connections")
    print("errors \(errors): non200 \(t.non200), socket \(t.socket), timeouts \(t.timeouts), bad_body \(t.badBody)")
    print("time to first chunk: p50 \(ms(f.p50)), p90 \(ms(f.p90)), p99 \(ms(f.p99)), max \(ms(f.max))")
    print("whole stream:        p50 \(ms(w.p50)), p99 \(ms(w.p99))")
}
