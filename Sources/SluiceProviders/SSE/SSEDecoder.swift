/// An incremental Server-Sent Events decoder: feed it bytes as they arrive and
/// take complete events out. A value type with no I/O, so it is tested alone.
public struct SSEDecoder: Sendable {
    /// One decoded event.
    public struct Event: Sendable, Equatable {
        /// The `event:` field, if any.
        public var event: String?
        /// The `data:` lines joined with `\n`.
        public var data: [UInt8]
    }

    private var buffer: [UInt8] = []
    private var scanFrom = 0

    public init() {}

    /// Appends received bytes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// True when bytes of an unfinished event remain.
    public var hasPartialEvent: Bool {
        buffer.contains { $0 != 0x0A && $0 != 0x0D && $0 != 0x20 }
    }

    /// The next complete event, or `nil` until more bytes arrive. Comment-only
    /// blocks (`: keep-alive`) are skipped.
    public mutating func next() -> Event? {
        while let end = blockEnd() {
            let block = buffer[0..<end.contentEnd]
            let event = Self.parse(block)
            buffer.removeFirst(end.next)
            scanFrom = 0
            if let event { return event }
        }
        return nil
    }

    private mutating func blockEnd() -> (contentEnd: Int, next: Int)? {
        var i = scanFrom
        while i < buffer.count {
            if buffer[i] == 0x0A {
                if i + 1 < buffer.count, buffer[i + 1] == 0x0A { return (i, i + 2) }
                if i + 2 < buffer.count, buffer[i + 1] == 0x0D, buffer[i + 2] == 0x0A { return (i, i + 3) }
            }
            if buffer[i] == 0x0D, i + 1 < buffer.count, buffer[i + 1] == 0x0D { return (i, i + 2) }
            i += 1
        }
        scanFrom = max(0, buffer.count - 2)
        return nil
    }

    static func parse(_ block: ArraySlice<UInt8>) -> Event? {
        var event: String?
        var data: [UInt8] = []
        var sawData = false
        for rawLine in block.split(separator: 0x0A, omittingEmptySubsequences: true) {
            var line = rawLine
            if line.last == 0x0D { line = line.dropLast() }
            if line.first == UInt8(ascii: ":") { continue }
            let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
            let field = line[line.startIndex..<colon]
            var value = colon < line.endIndex ? line[(colon + 1)...] : []
            if value.first == 0x20 { value = value.dropFirst() }
            if field.elementsEqual("data".utf8) {
                if sawData { data.append(0x0A) }
                data.append(contentsOf: value)
                sawData = true
            } else if field.elementsEqual("event".utf8) {
                event = String(decoding: value, as: UTF8.self)
            }
        }
        if !sawData && event == nil { return nil }
        return Event(event: event, data: data)
    }
}
