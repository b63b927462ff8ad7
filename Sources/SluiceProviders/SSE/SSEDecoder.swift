/// An incremental Server-Sent Events decoder, following the WHATWG event-stream
/// rules: lines end in CRLF, LF or CR (also when split across reads), `:` lines
/// are comments, a blank line dispatches the event, and an event whose data is
/// empty is not dispatched. A value type with no I/O, so it is tested alone.
public struct SSEDecoder: Sendable {
    /// One decoded event.
    public struct Event: Sendable, Equatable {
        /// The `event:` field, if any.
        public var event: String?
        /// The `data:` lines joined with `\n`.
        public var data: [UInt8]
    }

    private var buffer: [UInt8] = []
    private var position = 0
    /// The last line ended in CR at the end of a read: a leading LF belongs to it.
    private var skipLF = false
    private var data: [UInt8] = []
    private var sawData = false
    private var eventName: String?

    /// An empty decoder.
    public init() {}

    /// Appends received bytes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        if position > 4096, position * 2 > buffer.count {
            buffer.removeFirst(position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// True when bytes of an unfinished event remain.
    public var hasPartialEvent: Bool {
        sawData || eventName != nil || buffer[position...].contains { $0 != 0x0A && $0 != 0x0D }
    }

    /// The next complete event, or `nil` until more bytes arrive.
    public mutating func next() -> Event? {
        while let line = nextLine() {
            if let event = process(line) { return event }
        }
        return nil
    }

    /// At end of input: the last line and event as if a blank line had followed.
    public mutating func finish() -> Event? {
        if let event = next() { return event }
        if position < buffer.count {
            let line = Array(buffer[position...])
            position = buffer.count
            if let event = process(line[...]) { return event }
        }
        return dispatch()
    }

    private mutating func nextLine() -> ArraySlice<UInt8>? {
        if skipLF, position < buffer.count {
            if buffer[position] == 0x0A { position += 1 }
            skipLF = false
        }
        var i = position
        while i < buffer.count {
            let c = buffer[i]
            if c == 0x0A || c == 0x0D {
                let line = buffer[position..<i]
                if c == 0x0D {
                    if i + 1 < buffer.count {
                        position = buffer[i + 1] == 0x0A ? i + 2 : i + 1
                    } else {
                        position = i + 1
                        skipLF = true
                    }
                } else {
                    position = i + 1
                }
                return line
            }
            i += 1
        }
        return nil
    }

    private mutating func process(_ line: ArraySlice<UInt8>) -> Event? {
        if line.isEmpty { return dispatch() }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = line[line.startIndex..<colon]
        var value = colon < line.endIndex ? line[(colon + 1)...] : []
        if value.first == 0x20 { value = value.dropFirst() }
        if field.elementsEqual("data".utf8) {
            if sawData { data.append(0x0A) }
            data.append(contentsOf: value)
            sawData = true
        } else if field.elementsEqual("event".utf8) {
            eventName = String(decoding: value, as: UTF8.self)
        }
        return nil
    }

    private mutating func dispatch() -> Event? {
        defer {
            data = []
            sawData = false
            eventName = nil
        }
        guard sawData, !data.isEmpty else { return nil }
        return Event(event: eventName, data: data)
    }
}
