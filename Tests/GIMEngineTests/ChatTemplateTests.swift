import Foundation
import XCTest
@testable import GIMEngine

/// Chat formatting against transformers' `apply_chat_template(..., add_generation_prompt=True,
/// tokenize=True)` (Fixtures/chat/golden.json, scripts/reference/make_chat_fixtures.py): the same
/// text and exactly the same ids for every recognised family and conversation, and the same refusals.
final class ChatTemplateTests: XCTestCase {
    struct Golden: Decodable {
        struct Family: Decodable { let folder: String?; let cases: [Case] }
        struct Case: Decodable {
            let name: String
            let messages: [ChatMessage]
            let text: String?
            let ids: [Int]?
            /// The folder's tokenizer.json (Python `tokenizers`) ids of `text`, when not `ids`.
            let tokenizer_json_ids: [Int]?
            let error: String?
        }
        let families: [String: Family]
    }

    static let expectedFamily: [String: ChatTemplateFamily] = [
        "smollm2": .chatML, "qwen2.5": .chatML, "qwen2": .chatML, "llama3": .llama3, "gemma": .gemma, "gemma3": .gemma3,
        "mistral": .mistralInst, "mistral-2024": .mistralInst, "phi3": .phi3, "phi3.5": .phi3,
    ]

    func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Fixtures.url("chat/golden")))
    }

    /// The tokenizer and template of one golden family: SmolLM2 from the default model's GGUF,
    /// the others from their fixture folder (as a model folder would load them).
    func load(_ family: String, _ entry: Golden.Family) throws -> (BPETokenizer, ChatTemplate) {
        if let folder = entry.folder {
            let dir = try Fixtures.url("chat/golden").deletingLastPathComponent().appendingPathComponent(folder).path
            let tokenizer = try HFModelFolder.loadTokenizer(directory: dir)
            let text = try XCTUnwrap(try HFModelFolder.chatTemplateText(directory: dir), "\(family): no template found")
            return (tokenizer, try tokenizer.chatTemplate(text))
        }
        let bundle = try ModelBundle.load(path: try Fixtures.defaultModelPath())
        return (bundle.tokenizer, try bundle.chatTemplate())
    }

    func testFormattedIdsEqualTransformers() throws {
        let golden = try golden()
        var compared = 0
        var tokenizerJSONOnly = Set<String>()
        for (family, entry) in golden.families.sorted(by: { $0.key < $1.key }) {
            let tokenizer: BPETokenizer, template: ChatTemplate
            do { (tokenizer, template) = try load(family, entry) } catch let skip as XCTSkip {
                print("chat golden: \(family) skipped (\(skip.message ?? ""))"); continue
            }
            XCTAssertEqual(template.family, Self.expectedFamily[family], family)
            for c in entry.cases {
                if let error = c.error {
                    XCTAssertThrowsError(try template.render(c.messages), "\(family)/\(c.name): transformers raised \(error)")
                    continue
                }
                let text = try template.render(c.messages)
                XCTAssertEqual(text, c.text, "\(family)/\(c.name): text")
                let ids = try tokenizer.encodeChat(c.messages, template: template)
                if let raw = c.tokenizer_json_ids {
                    // transformers 5 re-tokenizes this text its own way (LlamaTokenizer's Metaspace
                    // instead of the file's normalizer): the engine follows tokenizer.json.
                    XCTAssertEqual(ids, raw, "\(family)/\(c.name): tokenizer.json ids")
                    XCTAssertNotEqual(raw, c.ids)
                    tokenizerJSONOnly.insert(family)
                } else {
                    XCTAssertEqual(ids, c.ids, "\(family)/\(c.name): ids")
                    compared += 1
                }
            }
        }
        print("chat golden: \(compared) conversations with ids equal to transformers'; text equal but ids as tokenizer.json gives them (not transformers 5's) in \(tokenizerJSONOnly.sorted())")
        XCTAssertEqual(tokenizerJSONOnly, ["mistral-2024"], "the only family where transformers 5's ids are not tokenizer.json's")
        XCTAssertGreaterThanOrEqual(compared, 50)
        XCTAssertEqual(Set(golden.families.keys).subtracting(["smollm2"]), Set(Self.expectedFamily.keys).subtracting(["smollm2"]))
    }

    struct Published: Decodable {
        struct Template: Decodable { let file: String; let model: String; let family: String? }
        let templates: [Template]
    }

    /// The templates as their models publish them (Fixtures/chat/published/, byte for byte, with
    /// where each was read in its manifest): each recognised family accepts its real text, and
    /// the ones no built-in renders (Llama 3.1's date header, Qwen 3's thinking, Phi-3-medium's
    /// turn without a generation prompt) are refused.
    func testPublishedTemplatesAreRecognised() throws {
        let dir = try Fixtures.url("chat/golden").deletingLastPathComponent().appendingPathComponent("published")
        let manifest = try JSONDecoder().decode(Published.self, from: Data(contentsOf: dir.appendingPathComponent("manifest.json")))
        XCTAssertGreaterThanOrEqual(manifest.templates.count, 13)
        var families = Set<ChatTemplateFamily>()
        for t in manifest.templates {
            let text = try String(contentsOf: dir.appendingPathComponent(t.file), encoding: .utf8)
            if let expected = t.family {
                let template = try ChatTemplate(recognizing: text, bosToken: "<s>", eosToken: "</s>")
                XCTAssertEqual(template.family.rawValue, expected, t.model)
                families.insert(template.family)
            } else {
                XCTAssertThrowsError(try ChatTemplate(recognizing: text, bosToken: "<s>", eosToken: "</s>"), t.model)
            }
        }
        XCTAssertEqual(families, Set(ChatTemplateFamily.allCases), "every family is checked against a published template")
    }

    /// Variants inside a family, as their published templates render them.
    func testPublishedVariants() throws {
        let dir = try Fixtures.url("chat/golden").deletingLastPathComponent().appendingPathComponent("published")
        func template(_ file: String) throws -> ChatTemplate {
            try ChatTemplate(recognizing: String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8),
                             bosToken: "<s>", eosToken: "</s>")
        }
        let old = try template("mistralai-Mistral-7B-Instruct-v0.2-2023.jinja")
        let new = try template("mistralai-Mistral-7B-Instruct-v0.2.jinja")
        XCTAssertFalse(old.supportsSystemRole)
        XCTAssertTrue(new.supportsSystemRole)
        let turns = [ChatMessage(.system, "Be brief."), ChatMessage(.user, "Hi"), ChatMessage(.assistant, "Hello"), ChatMessage(.user, "Bye")]
        XCTAssertEqual(try new.render(turns), "<s> [INST] Be brief.\n\nHi [/INST] Hello</s> [INST] Bye [/INST]")
        XCTAssertEqual(try old.render(Array(turns.dropFirst())), "<s>[INST] Hi [/INST]Hello</s>[INST] Bye [/INST]")
        XCTAssertThrowsError(try old.render(turns))
        // A system message anywhere but first: both templates raise.
        XCTAssertThrowsError(try new.render([ChatMessage(.user, "Hi"), ChatMessage(.system, "x")]))
        XCTAssertThrowsError(try old.render([ChatMessage(.user, "Hi"), ChatMessage(.system, "x")]))
        let phi35 = try template("microsoft-Phi-3.5-mini-instruct.jinja")
        let phi3 = try template("microsoft-Phi-3-mini-4k-instruct.jinja")
        XCTAssertEqual(try phi35.render(user: "Hi", system: ""), "<|user|>\nHi<|end|>\n<|assistant|>\n")
        XCTAssertEqual(try phi3.render(user: "Hi", system: ""), "<|system|>\n<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n")
        XCTAssertEqual(try template("Qwen-Qwen2-7B-Instruct.jinja").defaultSystemPrompt, "You are a helpful assistant.")
    }

    func testDefaultSystemPrompts() throws {
        let golden = try golden()
        let dir = try Fixtures.url("chat/golden").deletingLastPathComponent().appendingPathComponent("qwen2.5").path
        let qwen = try HFModelFolder.loadTokenizer(directory: dir).chatTemplate(XCTUnwrap(HFModelFolder.chatTemplateText(directory: dir)))
        XCTAssertEqual(qwen.defaultSystemPrompt, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        XCTAssertNotNil(golden.families["qwen2.5"])
        let bundle = try ModelBundle.load(path: try Fixtures.defaultModelPath())
        XCTAssertEqual(try bundle.chatTemplate().defaultSystemPrompt, "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
    }

    /// Templates no built-in renders are refused with a message, never approximated.
    func testUnrecognisedTemplatesAreRefused() {
        let cases: [(String, String)] = [
            ("qwen3-style thinking", "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}{%- endfor %}{{- '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' }}"),
            ("llama 3.1 date header", "{{- bos_token }}{{- \"Cutting Knowledge Date: December 2023\\n\" }}"),
            ("mistral v0.3 spacing", "{{ bos_token }}{% for message in messages %}{{ '[INST]' + message['content'] + '[/INST]' }}{% endfor %}"),
            ("alpaca", "{% for message in messages %}### Instruction:\n{{ message['content'] }}\n### Response:\n{% endfor %}"),
            ("empty", ""),
        ]
        for (name, text) in cases {
            XCTAssertThrowsError(try ChatTemplate(recognizing: text, bosToken: "<s>", eosToken: "</s>"), name) { error in
                guard case ChatTemplateError.unrecognized(let why) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertFalse(why.isEmpty)
                XCTAssertTrue("\(error)".contains("unrecognised chat template"), "\(error)")
            }
        }
    }

    func testTemplateCodeSpelling() {
        let code = TemplateCode("{%- if x %}\n  {{- \"a\\nb\" + message.content -}}\n{% endif %}").code
        XCTAssertEqual(code, "{%ifx%}{{'a\\nb'+message['content']}}{%endif%}")
        XCTAssertEqual(TemplateCode.unescape("a\\nb\\'c"), "a\nb'c")
    }
}
