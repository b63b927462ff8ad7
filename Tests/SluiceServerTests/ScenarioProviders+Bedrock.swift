import SluiceCore

/// Reading a Converse request (what the Bedrock fake received) in the scenario list's provider-neutral terms.
extension ScenarioProvider {
    func bedrockSystem(_ sent: JSON) -> String? {
        sent["system"]?.arrayValue?.compactMap { $0["text"]?.stringValue }.joined()
    }

    func bedrockTurns(_ sent: JSON) -> [String] {
        (sent["messages"]?.arrayValue ?? []).map { m in
            (m["role"]?.stringValue ?? "?") + ":" + (m["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
        }
    }

    func bedrockToolResults(_ sent: JSON) -> [String] {
        (sent["messages"]?.arrayValue ?? []).flatMap { m in
            (m["content"]?.arrayValue ?? []).compactMap { $0["toolResult"] }.map { r in
                let content = r["content"]?.arrayValue?.first
                return (r["toolUseId"]?.stringValue ?? "?") + "=" + (content?["json"]?.jsonString ?? content?["text"]?.stringValue ?? "")
            }
        }
    }

    func bedrockTools(_ sent: JSON) -> (names: [String], forced: String?) {
        let names = (sent["toolConfig"]?["tools"]?.arrayValue ?? []).compactMap { $0["toolSpec"]?["name"]?.stringValue }
        return (names, sent["toolConfig"]?["toolChoice"]?["tool"]?["name"]?.stringValue)
    }

    /// The schema of the forced `json_output` tool Sluice asks Bedrock to answer with.
    func bedrockSchema(_ sent: JSON) -> JSON? {
        let forced = sent["toolConfig"]?["toolChoice"]?["tool"]?["name"]?.stringValue
        return sent["toolConfig"]?["tools"]?.arrayValue?.first { $0["toolSpec"]?["name"]?.stringValue == forced }?["toolSpec"]?["inputSchema"]?["json"]
    }

    func bedrockImages(_ sent: JSON) -> [String] {
        let mime = ["png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"]
        return (sent["messages"]?.arrayValue ?? []).flatMap { m in
            (m["content"]?.arrayValue ?? []).compactMap { $0["image"] }.map { i in
                "base64:" + (mime[i["format"]?.stringValue ?? ""] ?? "?") + ":" + (i["source"]?["bytes"]?.stringValue ?? "")
            }
        }
    }
}
