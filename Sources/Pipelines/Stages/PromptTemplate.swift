import Foundation

/// Prompt templates, a small Mustache subset:
///
///     {{item.question}}                 an item field (manifest column, input `fields`, id, input, media)
///     {{transcribe.text}}               a field of an earlier stage's result for the same item
///     {{#caption}}Photo: {{caption.text}}{{/caption}}   rendered only when the value is present and not empty
///     {{^transcribe.text}}(no speech){{/transcribe.text}}  rendered only when it is absent or empty
///
/// A missing value renders as nothing (a stage that did not apply to the item has no result).
/// References are checked when the pipeline is validated.
public struct PromptTemplate: Sendable, Equatable {
    indirect enum Part: Sendable, Equatable {
        case text(String)
        case value(Reference)
        case section(Reference, inverted: Bool, [Part])
    }

    /// `item.question`, `transcribe.text`, or a bare stage name (`caption`) in a section.
    public struct Reference: Sendable, Hashable, CustomStringConvertible {
        public var scope: String
        public var field: String?
        public var description: String { field.map { "\(scope).\($0)" } ?? scope }
    }

    let parts: [Part]
    public let source: String

    public init(_ source: String) throws {
        self.source = source
        var scanner = Substring(source)
        var stack: [(Reference, Bool, [Part])] = []
        var parts: [Part] = []
        while let open = scanner.range(of: "{{") {
            if open.lowerBound > scanner.startIndex { parts.append(.text(String(scanner[..<open.lowerBound]))) }
            guard let close = scanner[open.upperBound...].range(of: "}}") else {
                throw PipelineError("'{{' at offset \(source.distance(from: source.startIndex, to: open.lowerBound)) is not closed with '}}'")
            }
            var tag = scanner[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            scanner = scanner[close.upperBound...]
            let sigil = tag.first.flatMap { "#^/".contains($0) ? $0 : nil }
            if sigil != nil { tag = String(tag.dropFirst()).trimmingCharacters(in: .whitespaces) }
            let reference = try Self.reference(tag)
            switch sigil {
            case "#", "^":
                stack.append((reference, sigil == "^", parts))
                parts = []
            case "/":
                guard let (opened, inverted, outer) = stack.popLast(), opened == reference else {
                    throw PipelineError("{{/\(reference)}} closes a section that is not open")
                }
                parts = outer + [.section(opened, inverted: inverted, parts)]
            default:
                parts.append(.value(reference))
            }
        }
        if !scanner.isEmpty { parts.append(.text(String(scanner))) }
        if let (open, inverted, _) = stack.last { throw PipelineError("section {{\(inverted ? "^" : "#")\(open)}} is not closed") }
        self.parts = parts
    }

    static func reference(_ tag: String) throws -> Reference {
        let pieces = tag.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let name = "[A-Za-z_][A-Za-z0-9_-]*"
        guard (1...2).contains(pieces.count), pieces.allSatisfy({ $0.range(of: "^\(name)$", options: .regularExpression) != nil }) else {
            throw PipelineError("'{{\(tag)}}' is not a reference (write {{item.FIELD}} or {{STAGE.FIELD}})")
        }
        return Reference(scope: pieces[0], field: pieces.count == 2 ? pieces[1] : nil)
    }

    /// Every reference, in order of appearance.
    public var references: [Reference] {
        func collect(_ parts: [Part]) -> [Reference] {
            parts.flatMap { part -> [Reference] in
                switch part {
                case .text: return []
                case .value(let r): return [r]
                case .section(let r, _, let inner): return [r] + collect(inner)
                }
            }
        }
        return collect(parts)
    }

    /// Checks references against what exists before the stage: item fields and earlier stages'
    /// fields. Returns one message per bad reference.
    public func check(itemFields: Set<String>, earlierStages: [(name: String, fields: [String])], stage: String) -> [String] {
        var problems: [String] = []
        func visit(_ parts: [Part]) {
            for part in parts {
                switch part {
                case .text: break
                case .value(let r): check(r, inSection: false)
                case .section(let r, _, let inner): check(r, inSection: true); visit(inner)
                }
            }
        }
        func check(_ r: Reference, inSection: Bool) {
            if r.scope == "item" {
                guard let field = r.field else { problems.append("{{item}} needs a field, e.g. {{item.id}}"); return }
                if !itemFields.contains(field) {
                    problems.append("{{\(r)}}: no input gives items a field '\(field)' (item fields: \(itemFields.sorted().joined(separator: ", ")))")
                }
                return
            }
            guard let earlier = earlierStages.first(where: { $0.name == r.scope }) else {
                let names = earlierStages.map(\.name)
                let hint = r.scope == stage ? "a stage cannot read its own result" :
                    "earlier stages: \(names.isEmpty ? "none" : names.joined(separator: ", "))"
                problems.append("{{\(r)}}: '\(r.scope)' is not 'item' nor an earlier stage (\(hint))")
                return
            }
            guard let field = r.field else {
                if !inSection { problems.append("{{\(r)}} needs a field (fields of '\(r.scope)': \(earlier.fields.joined(separator: ", ")))") }
                return
            }
            if !earlier.fields.contains(field) {
                problems.append("{{\(r)}}: stage '\(r.scope)' has no field '\(field)' (fields: \(earlier.fields.joined(separator: ", ")))")
            }
        }
        visit(parts)
        return problems
    }

    /// Renders for one item: `item` values and earlier results by stage name.
    public func render(item: [String: String], results: [String: JSONValue]) -> String {
        renderPieces(item: item, results: results).map(\.text).joined()
    }

    /// The rendered prompt as its pieces: the template's own text and the values inserted (the
    /// material a long prompt is truncated or chunked on is its longest insertion).
    public func renderPieces(item: [String: String], results: [String: JSONValue]) -> [PromptPiece] {
        func value(_ r: Reference) -> String? {
            if r.scope == "item" { return r.field.flatMap { item[$0] } }
            guard let result = results[r.scope] else { return nil }
            guard let field = r.field else { return result == .null ? nil : "" }
            // A list of strings (caption tags) reads as "dog, bicycle"; a list of timed texts (a
            // video's frames, transcript segments) as one "[m:ss] text" line each; other values as JSON text.
            if let list = result[field]?.arrayValue {
                if list.allSatisfy({ $0.stringValue != nil }) { return list.compactMap(\.stringValue).joined(separator: ", ") }
                if list.allSatisfy({ $0["text"]?.stringValue != nil && ($0["time"] ?? $0["start"])?.doubleValue != nil }) {
                    return list.map { entry in
                        let time = (entry["time"] ?? entry["start"])?.doubleValue ?? 0
                        let text = (entry["text"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
                        return "[\(VideoFrameSampling.clock(time))] \(text)"
                    }.joined(separator: "\n")
                }
            }
            return result[field]?.text
        }
        func present(_ r: Reference) -> Bool {
            if r.field == nil, r.scope != "item" { return results[r.scope] != nil }
            return !(value(r) ?? "").isEmpty
        }
        func emit(_ parts: [Part]) -> [PromptPiece] {
            parts.flatMap { part -> [PromptPiece] in
                switch part {
                case .text(let t): return [PromptPiece(text: t, inserted: false)]
                case .value(let r): return [PromptPiece(text: value(r) ?? "", inserted: true)]
                case .section(let r, let inverted, let inner): return present(r) != inverted ? emit(inner) : []
                }
            }
        }
        return emit(parts)
    }
}

/// A piece of a rendered prompt: template text, or a value inserted for a reference.
public struct PromptPiece: Sendable, Equatable {
    public var text: String
    public var inserted: Bool
    public init(text: String, inserted: Bool) { self.text = text; self.inserted = inserted }
}
