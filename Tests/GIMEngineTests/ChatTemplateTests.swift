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
            let error: String?
        }
        let families: [String: Family]
    }

    static let expectedFamily: [String: ChatTemplateFamily] = [
        "smollm2": .chatML, "qwen2.5": .chatML, "llama3": .llama3, "gemma": .gemma, "gemma3": .gemma3,
        "mistral": .mistralInst, "phi3": .phi3,
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
                XCTAssertEqual(try tokenizer.encodeChat(c.messages, template: template), c.ids, "\(family)/\(c.name): ids")
                compared += 1
            }
        }
        print("chat golden: \(compared) conversations with ids equal to transformers'")
        XCTAssertGreaterThanOrEqual(compared, 30)
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
