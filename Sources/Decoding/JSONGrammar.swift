// A byte-level pushdown automaton for the JSON documents a `JSONSchema` accepts: fed one byte at a
// time, it says whether the bytes so far can still continue to a conforming document. This plays
// the role of llama.cpp's GBNF grammar built by json-schema-to-grammar, specialised to JSON so a
// state is a small hashable value (a stack of frames) and token masks can be cached per state.
//
// Whitespace is bounded: at most one space (0x20) where JSON allows whitespace between tokens, none
// before the document and none after it, so a model cannot loop on blanks.

import Foundation

public struct GrammarState: Hashable, Sendable {
    /// Enclosing frames, outermost first; `top` is the frame reading the next byte.
    var stack: [Frame] = []
    var top: Frame
}

enum ObjectPhase: Hashable, Sendable {
    /// After `{` or `,`: a space, a key's opening quote, or (after `{` only) `}`.
    case open(spaced: Bool), comma(spaced: Bool)
    /// Inside a key: `candidate` is the first property whose key matches the `matched` bytes so far.
    case key(candidate: Int32, matched: Int32)
    case colon(spaced: Bool), afterColon(spaced: Bool)
    /// A member value is being read (the child frame is on top).
    case value
    /// After a value: a space, `,` or `}`.
    case next(spaced: Bool)
}

enum ListPhase: Hashable, Sendable { case open(spaced: Bool), comma(spaced: Bool), value, next(spaced: Bool) }

enum NumberPhase: Hashable, Sendable {
    case minus, zero, integral(UInt8), dot, fraction(UInt8), exponentMark, exponentSign, exponent(UInt8)
}

enum Frame: Hashable, Sendable {
    /// A value of the node is expected; its first byte picks the frame that reads it.
    case start(Int32)
    /// `next`: in open/comma/next phases the first property that may come next; from the key's
    /// closing quote on, the property being read.
    case object(node: Int32, next: Int32, phase: ObjectPhase)
    case freeObject(node: Int32, phase: ObjectPhase)
    /// `count` of items so far, capped where the bounds stop mattering.
    case array(node: Int32, count: Int32, phase: ListPhase)
    /// `length` in code points (capped), `escape` (0 none, 1 after `\`, 2…6 inside `\uXXXX`),
    /// `utf8`: pending continuation bytes | (allowed range of the next one) << 2.
    case string(node: Int32, length: Int32, escape: UInt8, utf8: UInt8)
    case number(integer: Bool, phase: NumberPhase)
    case literal(node: Int32, candidate: Int32, matched: Int32)
    /// The document is complete.
    case done
}

public final class JSONGrammar: @unchecked Sendable {
    public let schema: JSONSchema
    /// Deepest nesting of frames (stops runaway recursion through "any value").
    public let maxDepth: Int
    private let nodes: [JSONSchema.Node]
    /// firstByte[node * 256 + b]: a value of `node` may start with byte b.
    private let firstByte: [Bool]

    public init(_ schema: JSONSchema, maxDepth: Int = 32) {
        self.schema = schema
        self.maxDepth = maxDepth
        nodes = schema.nodes
        var table = [Bool](repeating: false, count: schema.nodes.count * 256)
        for n in schema.nodes.indices { for b in schema.firstBytes(n) { table[n * 256 + Int(b)] = true } }
        firstByte = table
    }

    public var initial: GrammarState { GrammarState(top: .start(Int32(schema.root))) }

    /// The document is complete here (end of generation allowed).
    public func isAccepting(_ s: GrammarState) -> Bool {
        switch s.top {
        case .done: return true
        case .number(_, let phase): return s.stack.isEmpty && numberComplete(phase)
        case .literal(let node, let candidate, let matched): return s.stack.isEmpty && literalComplete(node, candidate, matched)
        default: return false
        }
    }

    /// Inside a string, between characters: how many more code points it may take (Int.max when
    /// unbounded); nil elsewhere.
    func plainStringRoom(_ s: GrammarState) -> Int? {
        guard case .string(let node, let length, 0, 0) = s.top, case .string(_, let maxLength) = nodes[Int(node)] else { return nil }
        return maxLength.map { $0 - Int(length) } ?? Int.max
    }

    /// Whether `bytes` form a complete conforming document (validation mode).
    public func accepts<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Bool {
        var s = initial
        for b in bytes where !advance(&s, b) { return false }
        return isAccepting(s)
    }

    /// Whether `bytes` are a prefix of some conforming document.
    public func acceptsPrefix<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Bool {
        var s = initial
        for b in bytes where !advance(&s, b) { return false }
        return true
    }

    // MARK: Stepping

    private func push(_ s: inout GrammarState, _ frame: Frame) -> Bool {
        guard s.stack.count < maxDepth else { return false }
        s.stack.append(s.top)
        s.top = frame
        return true
    }

    /// The top frame's value is complete: back to its parent, which moves past the value.
    private func pop(_ s: inout GrammarState) {
        guard let parent = s.stack.popLast() else { s.top = .done; return }
        switch parent {
        case .object(let node, let next, _): s.top = .object(node: node, next: next + 1, phase: .next(spaced: false))
        case .freeObject(let node, let phase):
            s.top = .freeObject(node: node, phase: phase == .value ? .next(spaced: false) : .colon(spaced: false))
        case .array(let node, let count, _):
            guard case .array(_, let minItems, let maxItems) = nodes[Int(node)] else { fatalError("array frame on a non-array node") }
            s.top = .array(node: node, count: min(count + 1, Int32(max(minItems, maxItems ?? minItems))), phase: .next(spaced: false))
        default: fatalError("a value frame's parent is not a container")
        }
    }

    private static let space = UInt8(ascii: " "), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) }

    /// Feeds one byte; false (and `s` unspecified) when no conforming document continues this way.
    public func advance(_ s: inout GrammarState, _ b: UInt8) -> Bool {
        while true {
            switch s.top {
            case .done: return false

            case .start(let node):
                guard firstByte[Int(node) * 256 + Int(b)] else { return false }
                switch nodes[Int(node)] {
                case .choice(let alternatives):
                    s.top = .start(Int32(alternatives.first { firstByte[$0 * 256 + Int(b)] }!))
                    continue
                case .object: s.top = .object(node: node, next: 0, phase: .open(spaced: false))
                case .freeObject: s.top = .freeObject(node: node, phase: .open(spaced: false))
                case .array: s.top = .array(node: node, count: 0, phase: .open(spaced: false))
                case .string: s.top = .string(node: node, length: 0, escape: 0, utf8: 0)
                case .number(let integer):
                    s.top = .number(integer: integer, phase: b == UInt8(ascii: "-") ? .minus : b == UInt8(ascii: "0") ? .zero : .integral(1))
                case .literals(let texts):
                    let candidate = texts.firstIndex { $0.first == b }!
                    s.top = .literal(node: node, candidate: Int32(candidate), matched: 1)
                    if literalComplete(node, Int32(candidate), 1) && !literalExtends(node, Int32(candidate), 1) { pop(&s) }
                }
                return true

            case .object(let node, let next, let phase):
                guard case .object(let properties) = nodes[Int(node)] else { fatalError() }
                func set(_ p: ObjectPhase, next n: Int32 = next) { s.top = .object(node: node, next: n, phase: p) }
                /// No required property is left from `next` on: the object may close.
                func mayClose() -> Bool { !properties[Int(next)...].contains { $0.required } }
                switch phase {
                case .open(let spaced), .comma(let spaced):
                    if b == Self.space && !spaced { set(phase.isOpen ? .open(spaced: true) : .comma(spaced: true)); return true }
                    if b == Self.quote && Int(next) < properties.count { set(.key(candidate: next, matched: 0)); return true }
                    if b == UInt8(ascii: "}") && phase.isOpen && mayClose() { pop(&s); return true }
                    return false
                case .key(let candidate, let matched):
                    // Candidates: properties from `next` up to and including the first required one.
                    let last = properties[Int(next)...].firstIndex { $0.required } ?? properties.count - 1
                    let prefix = properties[Int(candidate)].keyBytes.prefix(Int(matched))
                    func sharesPrefix(_ j: Int) -> Bool { properties[j].keyBytes.starts(with: prefix) }
                    if b == Self.quote, let j = (Int(next)...last).first(where: { properties[$0].keyBytes.count == Int(matched) && sharesPrefix($0) }) {
                        set(.colon(spaced: false), next: Int32(j)); return true
                    }
                    guard let j = (Int(candidate)...last).first(where: {
                        properties[$0].keyBytes.count > Int(matched) && properties[$0].keyBytes[Int(matched)] == b && sharesPrefix($0)
                    }) else { return false }
                    set(.key(candidate: Int32(j), matched: matched + 1)); return true
                case .colon(let spaced):
                    if b == Self.space && !spaced { set(.colon(spaced: true)); return true }
                    if b == UInt8(ascii: ":") { set(.afterColon(spaced: false)); return true }
                    return false
                case .afterColon(let spaced):
                    if b == Self.space && !spaced { set(.afterColon(spaced: true)); return true }
                    set(.value)
                    guard push(&s, .start(Int32(properties[Int(next)].node))) else { return false }
                    continue
                case .value: fatalError("object frame on top while reading a value")
                case .next(let spaced):
                    if b == Self.space && !spaced { set(.next(spaced: true)); return true }
                    if b == UInt8(ascii: ",") && Int(next) < properties.count { set(.comma(spaced: false)); return true }
                    if b == UInt8(ascii: "}") && mayClose() { pop(&s); return true }
                    return false
                }

            case .freeObject(let node, let phase):
                guard case .freeObject(let value) = nodes[Int(node)] else { fatalError() }
                func set(_ p: ObjectPhase) { s.top = .freeObject(node: node, phase: p) }
                switch phase {
                case .open(let spaced), .comma(let spaced):
                    if b == Self.space && !spaced { set(phase.isOpen ? .open(spaced: true) : .comma(spaced: true)); return true }
                    if b == Self.quote {
                        set(.key(candidate: 0, matched: 0))
                        guard push(&s, .start(Int32(schema.freeKeyNode))) else { return false }
                        continue
                    }
                    if b == UInt8(ascii: "}") && phase.isOpen { pop(&s); return true }
                    return false
                case .colon(let spaced):
                    if b == Self.space && !spaced { set(.colon(spaced: true)); return true }
                    if b == UInt8(ascii: ":") { set(.afterColon(spaced: false)); return true }
                    return false
                case .afterColon(let spaced):
                    if b == Self.space && !spaced { set(.afterColon(spaced: true)); return true }
                    set(.value)
                    guard push(&s, .start(Int32(value))) else { return false }
                    continue
                case .next(let spaced):
                    if b == Self.space && !spaced { set(.next(spaced: true)); return true }
                    if b == UInt8(ascii: ",") { set(.comma(spaced: false)); return true }
                    if b == UInt8(ascii: "}") { pop(&s); return true }
                    return false
                case .key, .value: fatalError("free object frame on top while reading a key or value")
                }

            case .array(let node, let count, let phase):
                guard case .array(let items, let minItems, let maxItems) = nodes[Int(node)] else { fatalError() }
                func set(_ p: ListPhase) { s.top = .array(node: node, count: count, phase: p) }
                let full = maxItems.map { Int(count) >= $0 } ?? false
                switch phase {
                case .open(let spaced), .comma(let spaced):
                    if b == Self.space && !spaced { set(phase.isOpen ? .open(spaced: true) : .comma(spaced: true)); return true }
                    if b == UInt8(ascii: "]") && phase.isOpen && minItems == 0 { pop(&s); return true }
                    guard !full else { return false }
                    set(.value)
                    guard push(&s, .start(Int32(items))) else { return false }
                    continue
                case .next(let spaced):
                    if b == Self.space && !spaced { set(.next(spaced: true)); return true }
                    if b == UInt8(ascii: ",") && !full { set(.comma(spaced: false)); return true }
                    if b == UInt8(ascii: "]") && Int(count) >= minItems { pop(&s); return true }
                    return false
                case .value: fatalError("array frame on top while reading an item")
                }

            case .string(let node, let length, let escape, let utf8):
                guard case .string(let minLength, let maxLength) = nodes[Int(node)] else { fatalError() }
                func set(_ l: Int32 = length, escape e: UInt8 = escape, utf8 u: UInt8 = utf8) {
                    s.top = .string(node: node, length: l, escape: e, utf8: u)
                }
                /// Starts a code point: false when maxLength is reached; counts up to where bounds stop mattering.
                func counted() -> Int32? {
                    if let maxLength, Int(length) >= maxLength { return nil }
                    return Int(length) < max(minLength, maxLength ?? minLength) ? length + 1 : length
                }
                if escape != 0 {
                    switch escape {
                    case 1:
                        if b == UInt8(ascii: "u") { set(escape: 2); return true }
                        guard Array("\"\\/bfnrt".utf8).contains(b) else { return false }
                        set(escape: 0); return true
                    case 2:   // first hex digit; D starts a surrogate, refused below
                        guard isHex(b) else { return false }
                        set(escape: b == UInt8(ascii: "D") || b == UInt8(ascii: "d") ? 4 : 3); return true
                    case 4:   // after \uD: only 0-7 (D800–DFFF are surrogates, not characters)
                        guard b >= 0x30 && b <= 0x37 else { return false }
                        set(escape: 5); return true
                    case 3, 5: guard isHex(b) else { return false }; set(escape: escape == 3 ? 5 : 6); return true
                    default: guard isHex(b) else { return false }; set(escape: 0); return true
                    }
                }
                if utf8 != 0 {
                    let pending = utf8 & 3
                    let (low, high): (UInt8, UInt8) = [(0x80, 0xBF), (0xA0, 0xBF), (0x80, 0x9F), (0x90, 0xBF), (0x80, 0x8F)][Int(utf8 >> 2)]
                    guard b >= low && b <= high else { return false }
                    set(utf8: pending - 1); return true
                }
                switch b {
                case Self.quote:
                    guard Int(length) >= minLength else { return false }
                    pop(&s); return true
                case Self.backslash: guard let l = counted() else { return false }; set(l, escape: 1); return true
                case 0..<0x20: return false
                case 0x20..<0x80: guard let l = counted() else { return false }; set(l); return true
                default:
                    // UTF-8 lead bytes (RFC 3629): (continuations, range code of the next byte).
                    let lead: (UInt8, UInt8)
                    switch b {
                    case 0xC2...0xDF: lead = (1, 0)
                    case 0xE0: lead = (2, 1)
                    case 0xED: lead = (2, 2)
                    case 0xE1...0xEF: lead = (2, 0)
                    case 0xF0: lead = (3, 3)
                    case 0xF1...0xF3: lead = (3, 0)
                    case 0xF4: lead = (3, 4)
                    default: return false
                    }
                    guard let l = counted() else { return false }
                    set(l, utf8: lead.0 | lead.1 << 2); return true
                }

            case .number(let integer, let phase):
                func set(_ p: NumberPhase) { s.top = .number(integer: integer, phase: p) }
                let digit = isDigit(b), dot = b == UInt8(ascii: "."), exponent = b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
                // llama.cpp's limits: at most 16 integral, fraction and exponent digits.
                switch phase {
                case .minus:
                    guard digit else { return false }
                    set(b == UInt8(ascii: "0") ? .zero : .integral(1)); return true
                case .zero, .integral:
                    if case .integral(let k) = phase, digit { guard k < 16 else { return false }; set(.integral(k + 1)); return true }
                    if !integer && dot { set(.dot); return true }
                    if !integer && exponent { set(.exponentMark); return true }
                    if digit { return false }   // no leading zeros
                case .dot:
                    guard digit else { return false }
                    set(.fraction(1)); return true
                case .fraction(let k):
                    if digit { guard k < 16 else { return false }; set(.fraction(k + 1)); return true }
                    if exponent { set(.exponentMark); return true }
                case .exponentMark:
                    if b == UInt8(ascii: "+") || b == UInt8(ascii: "-") { set(.exponentSign); return true }
                    guard digit else { return false }
                    set(.exponent(1)); return true
                case .exponentSign:
                    guard digit else { return false }
                    set(.exponent(1)); return true
                case .exponent(let k):
                    if digit { guard k < 16 else { return false }; set(.exponent(k + 1)); return true }
                }
                // The number ends before this byte, which belongs to the parent.
                guard numberComplete(phase), !s.stack.isEmpty else { return false }
                pop(&s)
                continue

            case .literal(let node, let candidate, let matched):
                guard case .literals(let texts) = nodes[Int(node)] else { fatalError() }
                let prefix = texts[Int(candidate)].prefix(Int(matched))
                if let j = texts.indices.first(where: { texts[$0].count > Int(matched) && texts[$0][Int(matched)] == b && texts[$0].starts(with: prefix) }) {
                    s.top = .literal(node: node, candidate: Int32(j), matched: matched + 1)
                    if literalComplete(node, Int32(j), matched + 1) && !literalExtends(node, Int32(j), matched + 1) { pop(&s) }
                    return true
                }
                guard literalComplete(node, candidate, matched), !s.stack.isEmpty else { return false }
                pop(&s)
                continue
            }
        }
    }

    private func numberComplete(_ phase: NumberPhase) -> Bool {
        switch phase {
        case .zero, .integral, .fraction, .exponent: return true
        default: return false
        }
    }

    /// Some candidate sharing the matched prefix ends exactly here.
    private func literalComplete(_ node: Int32, _ candidate: Int32, _ matched: Int32) -> Bool {
        guard case .literals(let texts) = nodes[Int(node)] else { return false }
        let prefix = texts[Int(candidate)].prefix(Int(matched))
        return texts.contains { $0.count == Int(matched) && $0.starts(with: prefix) }
    }

    /// Some candidate sharing the matched prefix goes on.
    private func literalExtends(_ node: Int32, _ candidate: Int32, _ matched: Int32) -> Bool {
        guard case .literals(let texts) = nodes[Int(node)] else { return false }
        let prefix = texts[Int(candidate)].prefix(Int(matched))
        return texts.contains { $0.count > Int(matched) && $0.starts(with: prefix) }
    }
}

extension ObjectPhase {
    var isOpen: Bool { if case .open = self { return true }; return false }
}

extension ListPhase {
    var isOpen: Bool { if case .open = self { return true }; return false }
}
