import Foundation
import Pipelines
import TestSupport
import XCTest

/// Parsing pipeline files and the messages for bad ones: FILE:LINE:COLUMN: KEY: message.
final class PipelineFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        try Fixtures.requireModel()
        folder = try Fixtures.temporaryFolder(self)
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: folder.appendingPathComponent("media"))
    }

    /// Loads `yaml`; returns the diagnostics it throws (empty when it loads).
    func problems(_ yaml: String, environment: [String: String] = [:]) throws -> [PipelineDiagnostic] {
        let url = try Fixtures.write(yaml, to: folder.appendingPathComponent("p.yaml"))
        do {
            _ = try Pipeline.load(path: url.path, environment: environment)
            return []
        } catch let errors as PipelineErrors {
            return errors.diagnostics.filter { !$0.isWarning }
        }
    }

    func load(_ yaml: String, environment: [String: String] = [:]) throws -> Pipeline {
        try Pipeline.load(path: Fixtures.write(yaml, to: folder.appendingPathComponent("p.yaml")).path, environment: environment)
    }

    func testValidPipelineLoads() throws {
        let pipeline = try load("""
            version: 1
            name: archive
            inputs: [media]
            stages:
              - task: transcribe
                model: whisper-tiny.en
                batch_size: 2
                options:
                  beam_size: 1
                  temperature: 0
                  no_speech_threshold: null
                  language: en
            outputs:
              directory: out
              sidecars: srt
            run: {batch_size: 3, threads: 1}
            """)
        XCTAssertEqual(pipeline.name, "archive")
        XCTAssertEqual(pipeline.items.map(\.id), ["media/jfk.wav"])
        XCTAssertEqual(pipeline.stages.map(\.spec.name), ["transcribe"])
        XCTAssertEqual(pipeline.spec.outputs.sidecars, [.srt])
        let options = pipeline.stages[0].provenance.options
        XCTAssertEqual(options["beam_size"], .int(1))
        XCTAssertEqual(options["temperatures"], .array([.int(0)]))
        XCTAssertNil(options["no_speech_threshold"], "null turns the check off")
        XCTAssertEqual(pipeline.stages[0].provenance.files?["model.bin"]?.count, 64)
        XCTAssertEqual(pipeline.outputDirectory.path, folder.appendingPathComponent("out").standardizedFileURL.path)
        XCTAssertEqual(pipeline.configuration.count, 16)
    }

    /// Transcribe batches as many files as keep a decoding step within 8 rows (float16 weights).
    func testPreferredBatchSizeFollowsBeamSize() throws {
        func preferred(_ beam: Int) throws -> Int {
            try load("inputs: [media]\nstages: [{task: transcribe, options: {beam_size: \(beam)}}]\noutputs: {directory: out}\n")
                .stages[0].preferredBatchSize
        }
        XCTAssertEqual(try [1, 2, 3, 4, 5, 8, 9].map(preferred), [4, 4, 2, 2, 1, 1, 1])
    }

    /// The configuration hash follows what changes results (options, model files), not how they are run.
    func testConfigurationHash() throws {
        func hash(_ stage: String, run: String = "") throws -> String {
            try load("inputs: [media]\nstages:\n  - \(stage)\noutputs: {directory: out}\n\(run)").configuration
        }
        let base = try hash("{task: transcribe, options: {beam_size: 1}}")
        XCTAssertEqual(base, try hash("{task: transcribe, options: {beam_size: 1}, batch_size: 7}", run: "run: {threads: 1, batch_size: 2}"))
        XCTAssertEqual(base, try hash("{task: transcribe, model: whisper-tiny.en, options: {beam_size: 1}}"))
        XCTAssertNotEqual(base, try hash("{task: transcribe, options: {beam_size: 2}}"))
        XCTAssertNotEqual(base, try hash("{task: transcribe, name: other, options: {beam_size: 1}}"))
        XCTAssertNotEqual(base, try hash("{task: transcribe, model: whisper-base, options: {beam_size: 1}}"))
    }

    func testUnknownKeysAreLocatedWithSuggestions() throws {
        let found = try problems("""
            inputs: [media]
            stages:
              - task: transcribe
                batchsize: 2
                options:
                  beam_size: 1
                  beam: 2
            outputs:
              directory: out
            colour: blue
            """)
        XCTAssertEqual(found.map { "\($0.line ?? 0):\($0.column ?? 0) \($0.key)" },
                       ["4:5 stages[0].batchsize", "7:7 stages[0].options.beam", "10:1 colour"])
        XCTAssertTrue(found[0].message.contains("did you mean 'batch_size'?"), found[0].message)
        XCTAssertTrue(found[1].message.contains("known keys: language, task, beam_size"), found[1].message)
        XCTAssertEqual(found[2].description, "\(folder.appendingPathComponent("p.yaml").path):10:1: colour: unknown key 'colour' "
                       + "(known keys: version, name, inputs, stages, outputs, run)")
    }

    func testWrongTypesMissingKeysAndBadValues() throws {
        let found = try problems("""
            inputs: media
            stages:
              - task: transcribe
                options: {beam_size: five}
              - {task: transcribe, name: "2nd"}
              - {task: summarize}
              - {model: whisper-tiny.en}
            outputs: {sidecars: [srt, docx]}
            run: {threads: 0}
            """)
        let rendered = found.map { "\($0.line ?? 0) \($0.key): \($0.message)" }
        XCTAssertEqual(rendered, [
            "1 inputs: expected a list, found 'media'",
            "4 stages[0].options.beam_size: expected an integer, found 'five'",
            "5 stages[1].name: stage name '2nd' must start with a letter and use letters, digits, '_' or '-' ('item' is reserved)",
            "6 stages[2].task: unknown task 'summarize' (known tasks: transcribe, caption, detect, ask, vad, classify, embed)",
            "7 stages[3].task: missing required key 'task'",
            "8 outputs.directory: missing required key 'directory'",
            "9 run.threads: must be at least 1",
        ], rendered.joined(separator: "\n"))
    }

    func testYAMLSyntaxErrorsHaveALine() throws {
        let found = try problems("inputs: [media]\nstages:\n  - task: transcribe\n   options: {\noutputs: {directory: out}\n")
        XCTAssertEqual(found.count, 1)
        XCTAssertNotNil(found[0].line)
        XCTAssertTrue(found[0].message.hasPrefix("YAML syntax:"), found[0].message)
        XCTAssertEqual(try problems("").first?.message, "the pipeline file is empty")
    }

    /// Missing files, unknown models, unavailable tasks, prompts and template references —
    /// all reported together, before any work.
    func testSemanticProblemsAreReportedTogether() throws {
        try Fixtures.write("path,question\nmedia/jfk.wav,Who?\nmedia/gone.wav,What?\nmedia,Folder?\n", to: folder.appendingPathComponent("qa.csv"))
        try Fixtures.write("path,question\nmedia/jfk.wav\n", to: folder.appendingPathComponent("short.csv"))
        let found = try problems("""
            inputs:
              - path: nowhere
              - manifest: qa.csv
              - manifest: short.csv
              - manifest: absent.jsonl
            stages:
              - {task: transcribe, model: whisper-huge}
              - {task: transcribe, name: again, prompt: "hello"}
              - task: caption
              - task: ask
                prompt: "{{item.question}} {{item.speaker}} {{transcribe.text}} {{caption.text}} {{ask.answer}} {{nope.x}}"
              - {task: transcribe, name: again}
              - {task: detect}
              - {task: ask, name: unprompted}
            outputs: {directory: out, sidecars: [srt]}
            """)
        let rendered = found.map { "\($0.file.hasSuffix(".csv") ? URL(fileURLWithPath: $0.file).lastPathComponent : "p"):\($0.line ?? 0) \($0.key): \($0.message)" }
        let expected = [
            "p:2 inputs[0].path: no such file or folder: ",
            "p:5 inputs[3].manifest: cannot read manifest ",
            "p:7 stages[0].model: unknown model 'whisper-huge'",
            "p:8 stages[1].prompt: task 'transcribe' takes no prompt",
            "p:11 stages[3].prompt: {{item.speaker}}: no input gives items a field 'speaker' (item fields: id, input, media, question)",
            "p:11 stages[3].prompt: {{ask.answer}}: 'ask' is not 'item' nor an earlier stage (a stage cannot read its own result)",
            "p:11 stages[3].prompt: {{nope.x}}: 'nope' is not 'item' nor an earlier stage (earlier stages: transcribe, again, caption)",
            "p:12 stages[4].name: two stages are named 'again'",
            "p:14 stages[6].task: an ask stage needs a `prompt` template",
            "qa.csv:3 : no such file: ",
            "qa.csv:4 : media is a folder; manifests list files",
            "short.csv:2 : 1 fields, the header has 2",
        ]
        XCTAssertEqual(found.count, expected.count, rendered.joined(separator: "\n"))
        for (line, prefix) in zip(rendered, expected) { XCTAssertTrue(line.hasPrefix(prefix), "\(line)\n  expected: \(prefix)…") }
    }

    func testEnvironmentVariablesInPaths() throws {
        let yaml = "inputs: [\"${MEDIA:-media}\"]\nstages: [{task: transcribe}]\noutputs: {directory: \"${OUT}/run\"}\n"
        let pipeline = try load(yaml, environment: ["OUT": "/tmp/hearth-out"])
        XCTAssertEqual(pipeline.items.map(\.id), ["media/jfk.wav"])
        XCTAssertEqual(pipeline.outputDirectory.path, "/tmp/hearth-out/run")
        let found = try problems(yaml)
        XCTAssertEqual(found.map(\.key), ["outputs.directory"])
        XCTAssertTrue(found[0].message.contains("environment variable OUT is not set"), found[0].message)
    }

    /// The shipped pipelines load as they are (mixed-media QA has audio and image rows).
    func testShippedPipelines() throws {
        let shipped = TestPaths.packageRoot.appendingPathComponent("pipelines")
        for name in ["demo.yaml", "transcribe-archive.yaml", "caption-folder.yaml", "mixed-media-qa.yaml"] {
            let pipeline = try Pipeline.load(path: shipped.appendingPathComponent(name).path, environment: [:])
            XCTAssertFalse(pipeline.items.isEmpty, name)
        }
        let demo = try Pipeline.load(path: shipped.appendingPathComponent("demo.yaml").path, environment: [:])
        XCTAssertTrue(demo.items.contains { $0.media.kind == .image }, "the demo captions the sample photos")
        let qa = try Pipeline.load(path: shipped.appendingPathComponent("mixed-media-qa.yaml").path, environment: [:])
        XCTAssertEqual(Set(qa.items.map(\.media.kind)), [.audio, .image])
    }
}
