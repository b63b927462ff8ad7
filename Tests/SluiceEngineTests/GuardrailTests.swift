import Foundation
import SluiceCore
@testable import SluiceEngine
import Testing

@Suite struct GuardrailTests {
    func kinds(_ text: String) -> [String] { PIIDetector().matches(in: text).map(\.kind.rawValue) }

    @Test func detectsEachKindAndNotLookalikes() {
        #expect(kinds("write to jane.doe+x@mail.example.co.uk today") == ["EMAIL"])
        #expect(kinds("call +1 415-555-0132 or (030) 1234 5678") == ["PHONE", "PHONE"])
        #expect(kinds("card 4111 1111 1111 1111") == ["CARD"])
        #expect(kinds("card 4111 1111 1111 1112").isEmpty)  // fails Luhn
        #expect(kinds("ssn 123-45-6789") == ["SSN"])
        #expect(kinds("IBAN DE89 3704 0044 0532 0130 00 please") == ["IBAN"])
        #expect(kinds("IBAN DE89 3704 0044 0532 0130 01").filter { $0 == "IBAN" }.isEmpty)  // fails mod-97
        #expect(kinds("from 192.168.10.254 and 2001:db8:85a3::8a2e:370:7334") == ["IP", "IP"])
        #expect(kinds("key sk-proj-abcdefghijklmnopqrstuvwx123") == ["SECRET"])
        #expect(kinds("AKIAIOSFODNN7EXAMPLE and ghp_abcdefghijklmnopqrstuvwxyz0123456789") == ["SECRET", "SECRET"])
        #expect(kinds("Authorization: Bearer abcdefghijklmnopqrstuvwxyz.12345") == ["SECRET"])
        #expect(kinds("version 1.2.3, order 12345, at 10:30, 3.14159").isEmpty)
    }

    @Test func redactionIsStableAndRestores() {
        var r = PIIRedaction()
        let text = "Mail a@b.io and c@d.io, then a@b.io; card 4111-1111-1111-1111"
        let redacted = r.redact(text)
        #expect(redacted == "Mail <EMAIL_1> and <EMAIL_2>, then <EMAIL_1>; card <CARD_1>")
        #expect(r.kinds.map(\.rawValue) == ["EMAIL", "CARD"])
        #expect(r.restore("Reply to <EMAIL_2> about <CARD_1>.") == "Reply to c@d.io about 4111-1111-1111-1111.")
        var restorer = PlaceholderRestorer(r)
        let pieces = ["Reply to <EM", "AIL_1", "> now <", "CARD_1> ok <"]
        let streamed = pieces.map { restorer.feed($0) }.joined() + restorer.finish()
        #expect(streamed == "Reply to a@b.io now 4111-1111-1111-1111 ok <")
    }

    @Test func guardRulesBlockAndFlag() throws {
        var deny = GuardRule(name: "no_sql")
        deny.deny = [try NSRegularExpressionBox("drop\\s+table")]
        var flag = GuardRule(name: "cite", action: .flag)
        flag.require = ["source:"]
        #expect(try Guards.check([deny, flag], "see source: x", side: "output", code: .outputBlocked).isEmpty)
        #expect(try Guards.check([deny, flag], "plain", side: "output", code: .outputBlocked) == ["output:cite"])
        #expect(throws: SluiceError.self) { try Guards.check([deny], "Drop  Table t", side: "input", code: .guardBlocked) }
        var long = GuardRule(name: "short")
        long.maxLength = 5
        #expect(long.violation(in: "123456")?.contains("over the limit of 5") == true)
    }

    @Test func extractsJSONFromProseAndFences() {
        #expect(JSONExtractor.extract(" {\"a\":1} ")?.value == ["a": 1])
        #expect(JSONExtractor.extract("```\nnope\n```\n```json\n[1,2]\n```")?.value == [1, 2])
        #expect(JSONExtractor.extract("Result: {\"s\":\"}{\",\"n\":{\"m\":2}} done")?.value == ["s": "}{", "n": ["m": 2]])
        #expect(JSONExtractor.extract("no json {here") == nil)
        let d = RefusalDetector()
        #expect(d.isRefusal(text: "I'm sorry, but I can't help with that."))
        #expect(!d.isRefusal(text: "Sure, here is the answer."))
        #expect(d.isRefusal(["choices": [["finish_reason": "content_filter", "message": ["content": ""]]]]))
        #expect(d.isRefusal(["choices": [["finish_reason": "stop", "message": ["content": nil, "refusal": "No."]]]]))
    }

    @Test func refusalsOpenTheAnswerOrFollowASentence() {
        let d = RefusalDetector()
        #expect(d.isRefusal(text: "\n\t  I’M SORRY, BUT I CAN’T do that."))
        #expect(d.isRefusal(text: "Thanks for asking. I cannot help with that request."))
        #expect(!d.isRefusal(text: "Thanks for asking.I cannot help with that request."))
        #expect(!d.isRefusal(text: "Here is how: i can't help with... just kidding, step 1."))
        // Only the first 200 characters count.
        #expect(!d.isRefusal(text: String(repeating: "x", count: 200) + ". I cannot help with it"))
        #expect(d.isRefusal(text: String(repeating: "x", count: 170) + ". I cannot help with it"))
        #expect(!d.isRefusal(text: ""))
        let custom = RefusalDetector(phrases: ["Nope", ""])
        #expect(custom.isRefusal(text: "nope, not today") && !custom.isRefusal(text: "I'm sorry, but I can't"))
        #expect(!RefusalDetector(phrases: []).isRefusal(text: "I'm sorry, but I can't"))
    }
}
