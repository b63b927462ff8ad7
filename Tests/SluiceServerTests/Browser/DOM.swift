/// A tolerant HTML scanner, good enough to check the DOM that headless Chromium
/// serializes (`--dump-dom`): elements by tag, attribute, id or class, their
/// attributes and their text. It is no HTML5 parser: it builds the tree the
/// markup spells out, closes `<void>` and self-closing (`<rect/>`) elements at
/// once, closes `<li>`, `<td>`, `<tr>`, `<p>`… at the next sibling start tag as
/// HTML does, closes other unclosed elements when an ancestor's end tag arrives, ignores
/// stray end tags, skips comments and `<!doctype>`, and treats the content of
/// `<script>`, `<style>`, `<textarea>` and `<title>` as text.
///
/// ```swift
/// let dom = DOM(html)
/// let svg = try #require(dom.element(id: "spend"))
/// let bars = svg.elements(tag: "rect", withAttribute: "data-value")
/// #expect(bars.map { $0["data-value"] } == ["1.5", "2"])
/// #expect(dom.elements(tag: "td").first?.text == "a & b")
/// ```
///
/// Tag and attribute names match case-insensitively (SVG's `viewBox` is found as
/// `viewBox` or `viewbox`); attribute values and text are entity-decoded.
struct DOM: DOMScope, Sendable {
    let document: DOMDocument
    var range: Range<Int> { 0..<document.nodes.count }

    /// Scans `html`.
    init(_ html: String) {
        document = DOMDocument(html)
    }

    /// The document's text: tags stripped, entities decoded, whitespace collapsed.
    var text: String { DOMDocument.collapse(document.textContent(0..<document.bytes.count)) }
}

/// One element of a ``DOM``.
struct DOMElement: DOMScope, Sendable, CustomStringConvertible {
    let document: DOMDocument
    /// The element's position in document order.
    let index: Int

    private var node: DOMDocument.Node { document.nodes[index] }
    /// Its descendants (not itself).
    var range: Range<Int> { (index + 1)..<node.descendantsEnd }

    /// The tag name, lowercased (`svg`, `rect`, `lineargradient`).
    var tag: String { node.tag }
    /// The attributes, names lowercased, values decoded.
    var attributes: [String: String] { node.attributes }
    /// An attribute's decoded value; `nil` when absent. Names match case-insensitively.
    subscript(_ name: String) -> String? { node.attributes[name.lowercased()] }
    /// The `id` attribute.
    var id: String? { self["id"] }
    /// The `class` attribute's tokens.
    var classes: [String] { (self["class"] ?? "").split(whereSeparator: \.isWhitespace).map(String.init) }
    /// The enclosing element, if any.
    var parent: DOMElement? { node.parent.map { DOMElement(document: document, index: $0) } }
    /// The direct child elements, in order.
    var children: [DOMElement] { all.filter { document.nodes[$0.index].parent == index } }

    /// Like the DOM's `textContent`: tags stripped, entities decoded, whitespace kept.
    var textContent: String { document.textContent(node.inner) }
    /// ``textContent`` with runs of whitespace collapsed to one space and trimmed.
    var text: String { DOMDocument.collapse(textContent) }
    /// The markup between the start and end tag, as written.
    var innerHTML: String { document.string(node.inner) }
    /// The element's markup, tags included.
    var outerHTML: String { document.string(node.outer) }

    var description: String { "<\(tag)\(attributes.keys.sorted().map { " \($0)=\"\(attributes[$0]!)\"" }.joined())>" }
}

/// Queries shared by the document and by an element (which searches its descendants).
protocol DOMScope {
    var document: DOMDocument { get }
    /// The node indexes this scope searches.
    var range: Range<Int> { get }
}

extension DOMScope {
    /// Every element in scope, in document order.
    var all: [DOMElement] { range.map { DOMElement(document: document, index: $0) } }

    /// The elements that satisfy `predicate`.
    func elements(where predicate: (DOMElement) -> Bool) -> [DOMElement] { all.filter(predicate) }

    /// The elements with this tag name.
    func elements(tag: String) -> [DOMElement] {
        let tag = tag.lowercased()
        return range.filter { document.nodes[$0].tag == tag }.map { DOMElement(document: document, index: $0) }
    }

    /// The elements carrying this attribute (with this exact value, when given).
    func elements(withAttribute name: String, equalTo value: String? = nil) -> [DOMElement] {
        elements { $0[name] != nil && (value == nil || $0[name] == value) }
    }

    /// The elements with this tag carrying this attribute (with this exact value, when given).
    func elements(tag: String, withAttribute name: String, equalTo value: String? = nil) -> [DOMElement] {
        elements(tag: tag).filter { $0[name] != nil && (value == nil || $0[name] == value) }
    }

    /// The elements whose `class` contains this token.
    func elements(class token: String) -> [DOMElement] { elements { $0.classes.contains(token) } }

    /// The first element with this `id`.
    func element(id: String) -> DOMElement? { elements { $0.id == id }.first }

    /// The first element with this tag.
    func element(tag: String) -> DOMElement? { elements(tag: tag).first }
}

/// The scanned document: the source bytes and a flat, document-ordered list of elements.
final class DOMDocument: Sendable {
    struct Node: Sendable {
        var tag: String
        var attributes: [String: String]
        var parent: Int?
        /// From `<` of the start tag to after `>` of the end tag (or where the element was closed).
        var outer: Range<Int>
        /// Between the start tag and the end tag.
        var inner: Range<Int>
        /// One past the last descendant's index.
        var descendantsEnd: Int
    }

    let bytes: [UInt8]
    let nodes: [Node]

    static let voidTags: Set<String> = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    ]
    static let rawTextTags: Set<String> = ["script", "style", "textarea", "title"]
    /// For a start tag, the open elements (innermost first) it closes.
    static let impliedEnds: [String: Set<String>] = {
        var ends: [String: Set<String>] = [
            "li": ["li"], "dt": ["dt", "dd"], "dd": ["dt", "dd"], "td": ["td", "th"], "th": ["td", "th"],
            "tr": ["td", "th", "tr"], "tbody": ["td", "th", "tr", "tbody", "thead"], "option": ["option"],
        ]
        for block in ["p", "div", "ul", "ol", "dl", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "form", "section", "blockquote"] {
            ends[block, default: []].insert("p")
        }
        return ends
    }()

    init(_ html: String) {
        bytes = Array(html.utf8)
        nodes = Self.scan(bytes)
    }

    func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    // MARK: Scanning

    private static func scan(_ b: [UInt8]) -> [Node] {
        var nodes: [Node] = []
        var open: [Int] = []
        var i = 0
        let n = b.count

        func close(_ index: Int, innerEnd: Int, outerEnd: Int) {
            nodes[index].inner = nodes[index].inner.lowerBound..<max(nodes[index].inner.lowerBound, innerEnd)
            nodes[index].outer = nodes[index].outer.lowerBound..<outerEnd
            nodes[index].descendantsEnd = nodes.count
        }

        while i < n {
            guard b[i] == UInt8(ascii: "<"), i + 1 < n else {
                i += 1
                continue
            }
            let next = b[i + 1]
            if starts(b, at: i, with: "<!--") {
                i = find(b, "-->", from: i + 4).map { $0 + 3 } ?? n
            } else if next == UInt8(ascii: "!") || next == UInt8(ascii: "?") {
                i = find(b, ">", from: i + 2).map { $0 + 1 } ?? n
            } else if next == UInt8(ascii: "/"), i + 2 < n, isNameStart(b[i + 2]) {
                // An end tag: close up to the nearest open element with that name; ignore strays.
                var j = i + 2
                while j < n, isNameChar(b[j]) { j += 1 }
                let name = String(decoding: b[(i + 2)..<j], as: UTF8.self).lowercased()
                let end = find(b, ">", from: j).map { $0 + 1 } ?? n
                if let k = open.lastIndex(where: { nodes[$0].tag == name }) {
                    for index in open[k...].reversed() { close(index, innerEnd: i, outerEnd: index == open[k] ? end : i) }
                    open.removeSubrange(k...)
                }
                i = end
            } else if isNameStart(next) {
                let (tag, attributes, selfClosing, end) = startTag(b, at: i)
                // The end tags HTML lets authors leave out: `<li>a<li>b`, `<td>a<td>b`, `<p>a<div>`.
                if let closes = impliedEnds[tag] {
                    while let top = open.last, closes.contains(nodes[top].tag) {
                        close(top, innerEnd: i, outerEnd: i)
                        open.removeLast()
                    }
                }
                nodes.append(
                    Node(tag: tag, attributes: attributes, parent: open.last, outer: i..<end, inner: end..<end, descendantsEnd: nodes.count + 1))
                let index = nodes.count - 1
                i = end
                if selfClosing || voidTags.contains(tag) {
                    close(index, innerEnd: end, outerEnd: end)
                } else if rawTextTags.contains(tag) {
                    // Raw text runs to the matching end tag, whatever it contains.
                    var j = i
                    while j < n, !(b[j] == UInt8(ascii: "<") && starts(b, at: j, with: "</" + tag, caseInsensitive: true)) { j += 1 }
                    let end = j < n ? (find(b, ">", from: j).map { $0 + 1 } ?? n) : n
                    close(index, innerEnd: j, outerEnd: end)
                    i = end
                } else {
                    open.append(index)
                }
            } else {
                i += 1
            }
        }
        for index in open.reversed() { close(index, innerEnd: n, outerEnd: n) }
        return nodes
    }

    /// Reads `<name attr="v" attr='v' attr=v attr>` or `.../>` at `start`.
    private static func startTag(_ b: [UInt8], at start: Int) -> (String, [String: String], Bool, Int) {
        let n = b.count
        var j = start + 1
        while j < n, isNameChar(b[j]) { j += 1 }
        let tag = String(decoding: b[(start + 1)..<j], as: UTF8.self).lowercased()
        var attributes: [String: String] = [:]
        var selfClosing = false
        while j < n {
            while j < n, isSpace(b[j]) { j += 1 }
            guard j < n else { break }
            if b[j] == UInt8(ascii: ">") { return (tag, attributes, selfClosing, j + 1) }
            if b[j] == UInt8(ascii: "/") {
                selfClosing = true
                j += 1
                continue
            }
            selfClosing = false
            let nameStart = j
            while j < n, !isSpace(b[j]), b[j] != UInt8(ascii: "="), b[j] != UInt8(ascii: ">"),
                !(b[j] == UInt8(ascii: "/") && j + 1 < n && b[j + 1] == UInt8(ascii: ">"))
            {
                j += 1
            }
            let name = String(decoding: b[nameStart..<j], as: UTF8.self).lowercased()
            if j == nameStart { j += 1 }
            var k = j
            while k < n, isSpace(b[k]) { k += 1 }
            var value = ""
            if k < n, b[k] == UInt8(ascii: "=") {
                k += 1
                while k < n, isSpace(b[k]) { k += 1 }
                if k < n, b[k] == UInt8(ascii: "\"") || b[k] == UInt8(ascii: "'") {
                    let quote = b[k]
                    let valueEnd = b[(k + 1)...].firstIndex(of: quote) ?? n
                    value = decodeEntities(String(decoding: b[(k + 1)..<valueEnd], as: UTF8.self))
                    j = min(valueEnd + 1, n)
                } else {
                    var e = k
                    while e < n, !isSpace(b[e]), b[e] != UInt8(ascii: ">") { e += 1 }
                    value = decodeEntities(String(decoding: b[k..<e], as: UTF8.self))
                    j = e
                }
            }
            if !name.isEmpty, attributes[name] == nil { attributes[name] = value }
        }
        return (tag, attributes, selfClosing, n)
    }

    // MARK: Text

    /// The text in `range`: tags and comments skipped, entities decoded.
    func textContent(_ range: Range<Int>) -> String {
        var out: [UInt8] = []
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            if bytes[i] == UInt8(ascii: "<"), i + 1 < end {
                let next = bytes[i + 1]
                if Self.starts(bytes, at: i, with: "<!--") {
                    i = Self.find(bytes, "-->", from: i + 4).map { $0 + 3 } ?? end
                    continue
                }
                if Self.isNameStart(next) || next == UInt8(ascii: "/") || next == UInt8(ascii: "!") || next == UInt8(ascii: "?") {
                    i = Self.tagEnd(bytes, from: i + 1, limit: end)
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return Self.decodeEntities(String(decoding: out, as: UTF8.self))
    }

    /// After the `>` closing a tag that starts before `from`, skipping quoted values.
    private static func tagEnd(_ b: [UInt8], from: Int, limit: Int) -> Int {
        var i = from
        var quote: UInt8?
        while i < limit {
            if let q = quote {
                if b[i] == q { quote = nil }
            } else if b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") {
                quote = b[i]
            } else if b[i] == UInt8(ascii: ">") {
                return i + 1
            }
            i += 1
        }
        return limit
    }

    static func collapse(_ s: String) -> String {
        s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static let namedEntities: [Substring: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}",
    ]

    /// Decodes `&amp; &lt; &gt; &quot; &apos; &nbsp;` and numeric references (`&#39;`, `&#x27;`);
    /// leaves anything else as written.
    static func decodeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semi = after.prefix(12).firstIndex(of: ";") {
                let name = after[..<semi]
                var decoded: String?
                if let named = namedEntities[name] {
                    decoded = named
                } else if name.hasPrefix("#") {
                    let digits = name.dropFirst()
                    let hex = digits.first == "x" || digits.first == "X"
                    let code = hex ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
                    decoded = code.flatMap { Unicode.Scalar($0) }.map { String(Character($0)) }
                }
                if let decoded {
                    out += decoded
                    rest = after[after.index(after: semi)...]
                    continue
                }
            }
            out += "&"
            rest = after
        }
        return out + rest
    }

    // MARK: Bytes

    private static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C
    }

    private static func isNameStart(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }

    private static func isNameChar(_ c: UInt8) -> Bool {
        isNameStart(c) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: ":")
            || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
    }

    private static func starts(_ b: [UInt8], at i: Int, with s: String, caseInsensitive: Bool = false) -> Bool {
        let p = Array(s.utf8)
        guard i + p.count <= b.count else { return false }
        for k in 0..<p.count {
            var c = b[i + k]
            if caseInsensitive, c >= UInt8(ascii: "A"), c <= UInt8(ascii: "Z") { c += 32 }
            if c != p[k] { return false }
        }
        return true
    }

    private static func find(_ b: [UInt8], _ s: String, from: Int) -> Int? {
        var i = from
        while i < b.count {
            if starts(b, at: i, with: s) { return i }
            i += 1
        }
        return nil
    }
}
