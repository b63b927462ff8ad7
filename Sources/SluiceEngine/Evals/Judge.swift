import SluiceCore

/// The LLM judge of `judge:` expectations. It renders a built-in prompt (the
/// rubric, the case's variables and the answer) and asks the judge model for
/// `{"score": 0…1, "reason": "…"}` through `response_format: json_schema`, so
/// the engine validates the verdict and repairs it like any schema'd answer.
/// Its calls run as purpose `eval:judge`.
enum Judge {
    /// The verdict's schema.
    static let schema: JSON = [
        "type": "object",
        "properties": [
            "score": ["type": "number", "minimum": 0, "maximum": 1],
            "reason": ["type": "string"],
        ],
        "required": ["score", "reason"],
        "additionalProperties": false,
    ]

    /// The longest answer shown to the judge; longer ones are cut.
    static let maxAnswer = 20_000

    static let system = """
        You are a strict, fair evaluator of an AI model's answer. Judge the answer only against the rubric, \
        using the input variables as context. Reply with a JSON object and nothing else: \
        {"score": a number from 0 to 1, "reason": "one or two sentences"}. \
        1 means the answer fully meets the rubric, 0 that it does not meet it at all; use values in between for partial credit.
        """

    /// The judge's chat body for one answer.
    static func body(_ spec: JudgeSpec, vars: JSONObject, answer: String) -> [UInt8] {
        let shown = answer.count <= maxAnswer ? answer : String(answer.prefix(maxAnswer)) + "\n[… cut]"
        let user = """
            Rubric:
            \(spec.rubric)

            Input variables (JSON):
            \(JSON.object(vars).jsonString)

            Answer to judge (between the markers):
            <<<ANSWER
            \(shown)
            ANSWER>>>
            """
        let chat: JSON = [
            "model": .string(spec.model),
            "temperature": 0,
            "messages": [["role": "system", "content": .string(system)], ["role": "user", "content": .string(user)]],
            "response_format": ["type": "json_schema", "json_schema": ["name": "eval_judge", "schema": schema]],
        ]
        return chat.serialized()
    }

    /// The verdict in a judge's reply, or why there is none.
    static func verdict(_ reply: ChatReply) -> (verdict: (score: Double, reason: String)?, problem: String?, costUSD: Double) {
        switch reply {
        case .json(let status, let bytes, let meta):
            let cost = meta.costUSD ?? 0
            guard status == 200, let completion = (try? JSON.parse(bytes))?.objectValue else {
                return (nil, "the judge answered HTTP \(status)", cost)
            }
            let text = ChatText.completionText(completion)
            guard let (json, _) = JSONExtractor.extract(text), let score = json["score"]?.doubleValue else {
                return (nil, "the judge's answer has no score: \(EvalExpectation.short(text, 120))", cost)
            }
            return ((score, json["reason"]?.stringValue ?? ""), nil, cost)
        case .failure(let error, _):
            return (nil, "the judge call failed: \(error.message)", 0)
        case .stream, .events:
            return (nil, "the judge answered a stream", 0)
        }
    }

    /// The check of a `judge:` expectation from a verdict.
    static func check(_ spec: JudgeSpec, summary: String, reply: ChatReply) -> (CheckResult, costUSD: Double) {
        let (verdict, problem, cost) = verdict(reply)
        guard let verdict else { return (CheckResult(expectation: summary, kind: "judge", passed: false, message: problem), cost) }
        let passed = verdict.score >= spec.min
        let score = Decimals.format(verdict.score, places: 2, trim: true)
        let min = Decimals.format(spec.min, places: 2, trim: true)
        let message = passed ? verdict.reason : "score \(score) is below \(min): \(verdict.reason)"
        return (CheckResult(expectation: summary, kind: "judge", passed: passed, message: message, score: verdict.score), cost)
    }
}
