// Chat prompts for the shipped model families. GGUF files carry a Jinja template in
// `tokenizer.chat_template`; rather than a Jinja engine, Hearth recognises the ChatML family
// (SmolLM2, Qwen2/2.5: <|im_start|>role\n…<|im_end|>\n) and reproduces what the template renders,
// including the default system message the template inserts when none is given.
// Any other template is refused with an error that names it.

import Foundation

public struct ChatMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) { self.role = role; self.content = content }
}

public struct ChatTemplate: Sendable {
    public enum Family: String, Sendable { case chatML }
    public let family: Family
    /// System message the template inserts when the conversation has none (nil: none).
    public let defaultSystem: String?

    public struct Unsupported: Error, CustomStringConvertible {
        public let template: String
        public var description: String {
            let first = template.split(separator: "\n").first.map(String.init) ?? template
            return "unsupported chat template (only ChatML-style templates are supported): \(first.prefix(120))"
        }
    }

    public init(jinja: String) throws {
        guard jinja.contains("<|im_start|>"), jinja.contains("<|im_end|>") else { throw Unsupported(template: jinja) }
        family = .chatML
        defaultSystem = Self.defaultSystemMessage(in: jinja)
    }

    /// The literal text the template emits as `<|im_start|>system\n…<|im_end|>` when no system message is given.
    static func defaultSystemMessage(in jinja: String) -> String? {
        // Templates may open the system turn several times (with the user's message, with tools…);
        // the default is the first occurrence whose body is literal text.
        var searchStart = jinja.startIndex
        while let start = jinja.range(of: "<|im_start|>system\\n", range: searchStart..<jinja.endIndex)
                ?? jinja.range(of: "<|im_start|>system\n", range: searchStart..<jinja.endIndex) {
            searchStart = start.upperBound
            let rest = jinja[start.upperBound...]
            guard let end = rest.range(of: "<|im_end|>") else { return nil }
            let text = String(rest[..<end.lowerBound])
            // A literal message, not an expression such as `' + messages[0]['content'] + '`.
            if text.isEmpty || text.contains("'") || text.contains("{{") || text.contains("+") { continue }
            return text.replacingOccurrences(of: "\\n", with: "\n")
        }
        return nil
    }

    /// The prompt text for `messages`, ending with the assistant's turn opening.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var text = ""
        if messages.first?.role != "system", let system = defaultSystem {
            text += "<|im_start|>system\n\(system)<|im_end|>\n"
        }
        for m in messages { text += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return text
    }
}
