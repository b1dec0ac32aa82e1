import Foundation
import ModelStore
import Yams

/// A validated pipeline: its items listed, its stages ready to load, its outputs placed.
/// `Pipeline.load` finds every problem it can before any work starts and throws them together.
public final class Pipeline {
    /// The file as given on the command line.
    public let file: String
    public let name: String
    public let spec: PipelineSpec
    /// Every item, in input order (`index` is the position here), before sharding.
    public let items: [PipelineItem]
    public let stages: [any PipelineStage]
    /// Rendered per item for stages that take prompts, by stage name.
    public let templates: [String: PromptTemplate]
    public let outputDirectory: URL
    /// Hash of every stage's task, model file hashes, options and prompt: results made under
    /// another hash are redone.
    public let configuration: String
    public let warnings: [PipelineDiagnostic]

    init(file: String, name: String, spec: PipelineSpec, items: [PipelineItem], stages: [any PipelineStage],
         templates: [String: PromptTemplate], outputDirectory: URL, warnings: [PipelineDiagnostic]) {
        self.file = file; self.name = name; self.spec = spec; self.items = items; self.stages = stages
        self.templates = templates; self.outputDirectory = outputDirectory; self.warnings = warnings
        configuration = Self.configurationHash(stages)
    }

    /// Reads, decodes and checks a pipeline file; throws `PipelineErrors` listing every problem.
    /// `${NAME}` and `${NAME:-default}` in paths and model names come from `environment`.
    public static func load(path: String, store: ModelStore = ModelStore(),
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Pipeline {
        var diagnostics: [PipelineDiagnostic] = []
        func fail(_ message: String, line: Int? = nil, column: Int? = nil) -> PipelineErrors {
            PipelineErrors(diagnostics: diagnostics + [PipelineDiagnostic(file: path, line: line, column: column, message: message)])
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the pipeline file") }
        guard let text = String(data: data, encoding: .utf8) else { throw fail("the pipeline file is not UTF-8 text") }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw fail("the pipeline file is empty") }
            root = node
        } catch let error as YamlError {
            throw fail(yamlMessage(error), line: yamlMark(error)?.line, column: yamlMark(error)?.column)
        }

        let issues = DecodingIssues()
        var decoded: PipelineSpec?
        do {
            decoded = try NodeDecoder.decode(PipelineSpec.self, from: root, issues: issues)
        } catch let error as DecodingError {
            diagnostics.append(PipelineDiagnostic(error, file: path, root: root))
        } catch is Lenient<OutputSpec>.Recorded {}
        diagnostics += issues.errors.map { PipelineDiagnostic($0, file: path, root: root) }
        guard var spec = decoded, diagnostics.isEmpty else { throw PipelineErrors(diagnostics: sorted(diagnostics)) }

        func report(_ keys: [CodingKey], _ message: String, warning: Bool = false) {
            let mark = locate(keys, in: root)
            diagnostics.append(PipelineDiagnostic(file: path, line: mark?.line, column: mark?.column, key: keyPath(keys),
                                                  message: message, isWarning: warning))
        }
        /// `key("stages", 2, "model")`: a coding path from names and list indices.
        func key(_ parts: Any...) -> [CodingKey] {
            parts.map { ($0 as? Int).map(AnyKey.init(intValue:)) ?? AnyKey(stringValue: "\($0)") }
        }

        // Environment variables in paths and model names.
        func substitute(_ value: String?, _ keys: [CodingKey]) -> String? {
            guard let value else { return nil }
            do { return try expandEnvironment(value, environment) } catch { report(keys, "\(error)"); return value }
        }
        for i in spec.inputs.indices {
            spec.inputs[i].path = substitute(spec.inputs[i].path, key("inputs", i, "path"))
            spec.inputs[i].glob = substitute(spec.inputs[i].glob, key("inputs", i, "glob"))
            spec.inputs[i].manifest = substitute(spec.inputs[i].manifest, key("inputs", i, "manifest"))
        }
        for i in spec.stages.indices { spec.stages[i].model = substitute(spec.stages[i].model, key("stages", i, "model")) }
        spec.outputs.directory = substitute(spec.outputs.directory, key("outputs", "directory"))!
        spec.outputs.sidecarDirectory = substitute(spec.outputs.sidecarDirectory, key("outputs", "sidecar_directory"))

        if let version = spec.version, version != 1 { report(key("version"), "unsupported version \(version) (this Hearth reads version 1)") }
        if spec.inputs.isEmpty { report(key("inputs"), "list at least one input") }
        if spec.stages.isEmpty { report(key("stages"), "list at least one stage") }

        // Options that read files or check positions inside values (an ask stage's `schema`).
        let fileURL = URL(fileURLWithPath: path).standardizedFileURL
        let base = fileURL.deletingLastPathComponent()
        for i in spec.stages.indices {
            guard var options = spec.stages[i].options as? any ResolvableOptions else { continue }
            for problem in options.resolve(directory: base, displayDirectory: (path as NSString).deletingLastPathComponent) {
                let keys = key("stages", i, "options") + problem.key.map { AnyKey(stringValue: $0) }
                if let file = problem.file {
                    diagnostics.append(PipelineDiagnostic(file: file, line: problem.line, column: problem.column, message: problem.message))
                } else if problem.line != nil {
                    diagnostics.append(PipelineDiagnostic(file: path, line: problem.line, column: problem.column, key: keyPath(keys),
                                                          message: problem.message))
                } else {
                    report(keys, problem.message)
                }
            }
            spec.stages[i].options = options
        }

        // Stages: names, availability, prompts, models.
        var stages: [any PipelineStage] = []
        var templates: [String: PromptTemplate] = [:]
        var seenNames: Set<String> = []
        for (i, stageSpec) in spec.stages.enumerated() {
            let task = StageTasks.named(stageSpec.task)!   // the decoder refused unknown tasks
            if !seenNames.insert(stageSpec.name).inserted {
                report(key("stages", i, "name"),
                       "two stages are named '\(stageSpec.name)'; give one a distinct 'name'")
            }
            if let prompt = stageSpec.prompt {
                if !task.takesPrompt {
                    report(key("stages", i, "prompt"), "task '\(task.name)' takes no prompt")
                } else {
                    do { templates[stageSpec.name] = try PromptTemplate(prompt) } catch { report(key("stages", i, "prompt"), "\(error)") }
                }
            }
            do {
                stages.append(try task.prepare(stageSpec, store: store))
            } catch {
                report(key("stages", i, stageSpec.model == nil ? "task" : "model"), "\(error)")
            }
        }

        // Sidecars must be something a stage renders.
        for (i, format) in (spec.outputs.sidecars ?? []).enumerated() {
            let renderers = spec.stages.filter { StageTasks.named($0.task)!.sidecarFormats.contains(format) }
            if renderers.isEmpty {
                report(key("outputs", "sidecars", i), "no stage of this pipeline renders '\(format.rawValue)' files")
            }
        }

        // Inputs.
        var wanted = Set(spec.stages.flatMap { StageTasks.named($0.task)!.media })
        if spec.stages.contains(where: { StageTasks.named($0.task)!.media.isEmpty }) { wanted = [.audio, .image, .video] }
        let expander = InputExpander(
            base: base, displayBase: (path as NSString).deletingLastPathComponent, wanted: wanted,
            report: { keys, message, warning in report(keys, message, warning: warning) },
            reportManifest: { file, line, message in
                diagnostics.append(PipelineDiagnostic(file: file, line: line, message: message))
            })
        let (items, declaredFields) = expander.expand(spec.inputs, pipelineFile: path)

        // Templates against item fields and earlier stages.
        let itemFields = Set(["id", "input", "media"]).union(declaredFields)
        for (i, stageSpec) in spec.stages.enumerated() {
            guard let template = templates[stageSpec.name] else { continue }
            let earlier = spec.stages[..<i].map { (name: $0.name, fields: StageTasks.named($0.task)!.fields) }
            for problem in template.check(itemFields: itemFields, earlierStages: Array(earlier), stage: stageSpec.name) {
                report(key("stages", i, "prompt"), problem)
            }
        }
        for stage in stages {   // an embed stage's `from` names earlier stages
            guard let embed = stage as? EmbedStage, let i = spec.stages.firstIndex(where: { $0.name == stage.spec.name }) else { continue }
            let earlier = Set(spec.stages[..<i].map(\.name))
            for source in embed.sourceStages where !earlier.contains(source) {
                report(key("stages", i, "options", "from"), "no stage before '\(stage.spec.name)' is named '\(source)'")
            }
        }
        for (i, stage) in stages.enumerated() {
            if let note = (stage as? TranscribeStage)?.languageWarning {
                report(key("stages", spec.stages.firstIndex { $0.name == stage.spec.name } ?? i, "options", "language"), note, warning: true)
            }
        }

        let errors = diagnostics.filter { !$0.isWarning }
        guard errors.isEmpty else { throw PipelineErrors(diagnostics: sorted(diagnostics)) }
        let name = spec.name ?? fileURL.deletingPathExtension().lastPathComponent
        let outputDirectory = URL(fileURLWithPath: absolutePath(spec.outputs.directory, relativeTo: base))
        return Pipeline(file: path, name: name, spec: spec, items: items, stages: stages, templates: templates,
                        outputDirectory: outputDirectory, warnings: sorted(diagnostics))
    }

    static func sorted(_ diagnostics: [PipelineDiagnostic]) -> [PipelineDiagnostic] {
        diagnostics.enumerated().sorted { a, b in
            (a.element.file, a.element.line ?? 0, a.offset) < (b.element.file, b.element.line ?? 0, b.offset)
        }.map(\.element)
    }

    static func configurationHash(_ stages: [any PipelineStage]) -> String {
        struct Entry: Encodable { let name: String; let provenance: StageProvenance }
        let entries = stages.map { Entry(name: $0.spec.name, provenance: $0.provenance) }
        let data = (try? JSONEncoder.records.encode(entries)) ?? Data()
        return String(SHA256.hex(data).prefix(16))
    }

    // MARK: Outputs

    /// An output file name inside the output directory; shards get `NAME.shard-I-of-N.EXT`.
    public func outputURL(_ name: String, shard: Shard?) -> URL {
        let url = URL(fileURLWithPath: absolutePath(name, relativeTo: outputDirectory))
        guard let shard, shard.count > 1 else { return url }
        let ext = url.pathExtension
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent("\(stem).shard-\(shard.index)-of-\(shard.count)" + (ext.isEmpty ? "" : ".\(ext)"))
    }

    public var sidecarDirectory: URL {
        URL(fileURLWithPath: absolutePath(spec.outputs.sidecarDirectory ?? ".", relativeTo: outputDirectory))
    }
}

/// Replaces `${NAME}` and `${NAME:-default}` (default used when NAME is unset or empty).
func expandEnvironment(_ text: String, _ environment: [String: String]) throws -> String {
    guard text.contains("${") else { return text }
    var out = ""
    var rest = Substring(text)
    while let open = rest.range(of: "${") {
        out += rest[..<open.lowerBound]
        guard let close = rest[open.upperBound...].firstIndex(of: "}") else { throw PipelineError("'${' without a closing '}'") }
        let body = rest[open.upperBound..<close]
        let (name, fallback): (Substring, Substring?) = body.range(of: ":-").map { (body[..<$0.lowerBound], body[$0.upperBound...]) } ?? (body, nil)
        guard name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
            throw PipelineError("'${\(body)}' is not an environment variable reference")
        }
        if let value = environment[String(name)], !value.isEmpty {
            out += value
        } else if let fallback {
            out += fallback
        } else {
            throw PipelineError("environment variable \(name) is not set (write ${\(name):-DEFAULT} to give a default)")
        }
        rest = rest[rest.index(after: close)...]
    }
    return out + rest
}

private func yamlMark(_ error: YamlError) -> Mark? {
    switch error {
    case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark
    default: return nil
    }
}

private func yamlMessage(_ error: YamlError) -> String {
    switch error {
    case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
        return "YAML syntax: \(problem)" + (context.map { " (\($0.text))" } ?? "")
    default: return "YAML: \(error)"
    }
}
