import Testing

/// The HTML scanner the browser tests read Chromium's DOM with.
@Suite struct ChromiumDOMTests {
    @Test func findsSelfClosingSVGElementsAndTheirAttributes() throws {
        let dom = DOM(
            """
            <svg id="spend" viewBox="0 0 100 50" data-series='["a","b"]'>
              <g class="bars main"><rect x="0" data-value="1.5" height='10'/><rect x=10 data-value="2"/></g>
              <path d="M0 0L10 10" />
              <text x="5">total &amp; more</text>
            </svg>
            <rect data-value="outside"></rect>
            """)
        let svg = try #require(dom.element(id: "spend"))
        #expect(svg.tag == "svg")
        #expect(svg["viewBox"] == "0 0 100 50")
        #expect(svg["viewbox"] == "0 0 100 50")
        #expect(svg["data-series"] == #"["a","b"]"#)
        #expect(svg.elements(tag: "rect").map { $0["data-value"] } == ["1.5", "2"])
        #expect(svg.elements(tag: "rect").map { $0["x"] } == ["0", "10"])
        #expect(svg.elements(tag: "rect").first?["height"] == "10")
        #expect(dom.elements(tag: "rect").count == 3)
        #expect(dom.elements(withAttribute: "data-value").map { $0["data-value"] } == ["1.5", "2", "outside"])
        #expect(dom.elements(withAttribute: "data-value", equalTo: "2").count == 1)
        let outside = try #require(dom.elements(tag: "rect", withAttribute: "data-value", equalTo: "outside").first)
        #expect(outside.parent == nil)
        // The self-closing <path/> did not swallow the <text> after it.
        #expect(svg.children.map(\.tag) == ["g", "path", "text"])
        #expect(svg.element(tag: "text")?.text == "total & more")
        #expect(dom.elements(class: "bars").first?.elements(tag: "rect").count == 2)
        #expect(svg.element(tag: "g")?.parent?.id == "spend")
    }

    @Test func nestedElementsTextAndEntities() throws {
        let dom = DOM(
            """
            <!DOCTYPE html><html><head><title>Spend &lt;today&gt;</title>
            <style>td > b { color: red }</style></head><body>
            <!-- <p id="commented">no</p> -->
            <table id="t"><tr><th>Purpose</th><th>Spend</th></tr>
            <tr data-purpose="search"><td>Search &amp; Ads</td><td class="num">$1,234.50</td></tr>
            <tr data-purpose='say "hi"'><td>It&#39;s &quot;quoted&quot; &#x27;hex&#x27;</td><td class="num">&nbsp;7</td></tr></table>
            <p>a <b>bold</b>
               move &unknown; &amp</p>
            <script>if (a < b && c > d) document.write('<p id="fake">x</p>')</script>
            </body></html>
            """)
        #expect(dom.element(tag: "title")?.text == "Spend <today>")
        #expect(dom.element(id: "commented") == nil)
        #expect(dom.element(id: "fake") == nil)
        let rows = try #require(dom.element(id: "t")).elements(tag: "tr")
        #expect(rows.count == 3)
        #expect(rows[1].elements(tag: "td").map(\.text) == ["Search & Ads", "$1,234.50"])
        #expect(rows[2]["data-purpose"] == #"say "hi""#)
        #expect(rows[2].elements(tag: "td").first?.text == #"It's "quoted" 'hex'"#)
        #expect(rows[2].elements(class: "num").first?.text == "7")
        #expect(rows[2].elements(class: "num").first?.textContent == "\u{00A0}7")
        #expect(dom.element(tag: "p")?.text == "a bold move &unknown; &amp")
        #expect(dom.element(tag: "p")?.innerHTML.hasPrefix("a <b>bold</b>") == true)
        #expect(dom.element(tag: "b")?.outerHTML == "<b>bold</b>")
        #expect(dom.element(tag: "script")?.textContent.contains("document.write") == true)
        #expect(dom.element(tag: "style")?.textContent == "td > b { color: red }")
    }

    @Test func toleratesUnclosedAndStrayTags() {
        let dom = DOM(#"<ul><li>one<li>two <br> three</ul></div><p>after<img src="x.png" alt=pic><input disabled>"#)
        let items = dom.elements(tag: "li")
        #expect(items.count == 2)
        #expect(items.map(\.text) == ["one", "two three"])
        // The second <li> closed the first, as in HTML.
        #expect(items[1].parent?.tag == "ul")
        let table = DOM("<table><tr><td>a<td>b<tr><td>c</table>")
        #expect(table.elements(tag: "tr").map { $0.elements(tag: "td").map(\.text) } == [["a", "b"], ["c"]])
        #expect(DOM("<p>one<p>two<div>three</div>").elements(tag: "p").map(\.text) == ["one", "two"])
        #expect(dom.element(tag: "ul")?.elements(tag: "li").count == 2)
        let p = dom.element(tag: "p")
        #expect(p?.text == "after")
        #expect(p?.elements(tag: "img").first?["alt"] == "pic")
        #expect(p?.elements(tag: "input").first?["disabled"] == "")
        #expect(dom.element(tag: "img")?.children.isEmpty == true)
        #expect(DOM("").all.isEmpty)
        #expect(DOM("just text &amp; < 3").text == "just text & < 3")
        #expect(DOM("<a href='x").element(tag: "a")?["href"] == "x")
    }

    @Test func readsChromiumSerialization() throws {
        // What `chromium --dump-dom` gives for an inline SVG: explicit end tags, quoted attributes.
        let dom = DOM(
            """
            <!DOCTYPE html>
            <html><head></head><body><svg width="200" height="100" data-chart="calls"><rect data-value="3" x="0" y="0" width="30" height="30" fill="red"></rect><rect data-value="4.5" x="40" y="0" width="30" height="45"></rect></svg><p id="js">from js</p>
            </body></html>
            """)
        let svg = try #require(dom.elements(withAttribute: "data-chart", equalTo: "calls").first)
        #expect(svg.elements(withAttribute: "data-value").compactMap { Double($0["data-value"] ?? "") } == [3, 4.5])
        #expect(dom.element(id: "js")?.text == "from js")
    }
}
