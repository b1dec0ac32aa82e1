// One static, self-contained HTML page from results: an overview with provenance, errors,
// question/answer tables, a contact sheet of images with their captions or tags, and
// transcripts with timestamps. No scripts, no external assets (images are inlined as data URIs).

import Foundation
import Media
import Models

public struct HTMLReport {
    public var title: String
    /// Read several times, one record at a time (a results file need not fit in memory).
    public var records: RecordSource
    public var summary: RunSummary?
    /// Images larger than this are shown by name instead of inlined.
    public var maxInlineImageBytes: Int64 = 4_000_000

    public init(title: String, records: RecordSource, summary: RunSummary? = nil) {
        self.title = title; self.records = records; self.summary = summary
    }

    public init(title: String, records: [ResultRecord], summary: RunSummary? = nil) {
        self.init(title: title, records: .records(records), summary: summary)
    }

    public func render() throws -> String { try OutputSink.string { try write(to: $0) } }

    /// Writes the page atomically.
    public func write(to url: URL) throws { try writeAtomically(to: url) { try write(to: $0) } }

    /// What one pass over the records finds, to lay out the page.
    private struct Survey {
        var count = 0, ok = 0, media = 0.0
        var configurations: Set<String> = []
        var models: [(stage: String, provenance: StageProvenance)] = []
        var seenModels: Set<String> = []
        /// Stage names by task, in order of appearance.
        var stagesByTask: [String: [String]] = [:]
        /// Records with a result, by stage.
        var resultCounts: [String: Int] = [:]
        var images = 0, videos = 0
    }

    func write(to out: OutputSink) throws {
        var survey = Survey()
        try records.forEach { r in
            survey.count += 1
            if r.status == .ok { survey.ok += 1 }
            survey.media += r.mediaSeconds ?? 0
            survey.configurations.insert(r.configuration)
            for stage in r.provenance.stages {
                // once per stage and weights (sorted: a dictionary's order is not its identity)
                let weights = (stage.provenance.files ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                if survey.seenModels.insert(([stage.name] + weights).joined(separator: "\n")).inserted {
                    survey.models.append((stage.name, stage.provenance))
                }
                if !(survey.stagesByTask[stage.provenance.task] ?? []).contains(stage.name) {
                    survey.stagesByTask[stage.provenance.task, default: []].append(stage.name)
                }
            }
            for stage in r.results.keys { survey.resultCounts[stage, default: 0] += 1 }
            if r.media.hasPrefix("image/") && imageStages(survey).contains(where: { r.results[$0] != nil }) { survey.images += 1 }
            if r.media.hasPrefix("video/") && r.status == .ok { survey.videos += 1 }
        }
        out.write("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) — Hearth report</title>
            <style>\(Self.style)</style></head><body>
            <h1>\(escape(title))</h1>

            """)
        overview(survey, out)
        if survey.count > survey.ok { try errors(count: survey.count - survey.ok, out) }
        for stage in survey.stagesByTask["ask"] ?? [] where survey.resultCounts[stage] != nil { try questionsAndAnswers(stage, out) }
        if survey.images > 0 { try contactSheet(imageStages(survey), count: survey.images, out) }
        if survey.videos > 0 { try videoStrips(imageStages(survey), transcripts: survey.stagesByTask["transcribe"] ?? [], count: survey.videos, out) }
        for stage in survey.stagesByTask["transcribe"] ?? [] {
            guard let count = survey.resultCounts[stage] else { continue }
            try transcripts(stage, count: count, out)
        }
        out.write("<footer>Made by Hearth \(escape(Hearth.version)) from \(survey.count) records.</footer>\n</body></html>\n")
    }

    private func imageStages(_ survey: Survey) -> [String] {
        ["caption", "detect", "classify"].flatMap { survey.stagesByTask[$0] ?? [] }
    }

    // MARK: Sections

    private func overview(_ survey: Survey, _ out: OutputSink) {
        var rows: [(String, String)] = [
            ("Items", "\(survey.count)"), ("Succeeded", "\(survey.ok)"), ("Failed", "\(survey.count - survey.ok)"),
        ]
        if survey.media > 0 { rows.append(("Audio", duration(survey.media))) }
        if let summary {
            rows.append(("This run", "\(summary.succeeded) done, \(summary.failed) failed, \(summary.skipped) skipped (already done)"))
        }
        rows.append(("Configuration", survey.configurations.sorted().joined(separator: ", ")
                     + (survey.configurations.count > 1 ? " (records come from different configurations)" : "")))
        out.write("<section><table class=\"facts\">")
        for (key, value) in rows { out.write("<tr><th>\(escape(key))</th><td>\(escape(value))</td></tr>") }
        out.write("</table>\n<h2>Models</h2><table><tr><th>Stage</th><th>Task</th><th>Model</th><th>Weights SHA-256</th><th>Options</th></tr>")
        for (stage, p) in survey.models {
            let weights = p.files?.filter { ["model.bin", "model.safetensors"].contains($0.key) || $0.key.hasSuffix(".gguf") || $0.key.hasSuffix(".weights") }
                .map { "\(escape($0.key)): \(escape($0.value))" }.sorted().joined(separator: "<br>") ?? ""
            out.write("<tr><td>\(escape(stage))</td><td>\(escape(p.task))</td><td>\(escape(p.model ?? "—"))</td>"
                      + "<td class=\"hash\">\(weights.isEmpty ? "—" : weights)</td><td class=\"options\">\(escape(optionsText(p.options)))</td></tr>")
        }
        out.write("</table></section>\n")
    }

    /// `beam_size 5 · language en · …` (options as set, sorted).
    private func optionsText(_ options: JSONValue) -> String {
        guard let object = options.objectValue else { return options.text ?? "" }
        return object.keys.sorted().map { "\($0) \(object[$0]?.text ?? "null")" }.joined(separator: " · ")
    }

    private func errors(count: Int, _ out: OutputSink) throws {
        out.write("<section><h2>Errors (\(count))</h2><table><tr><th>Input</th><th>Stage</th><th>Message</th></tr>")
        try records.forEach { r in
            guard r.status == .error else { return }
            out.write("<tr class=\"error\"><td>\(escape(r.input))</td><td>\(escape(r.stage ?? ""))</td><td>\(escape(r.message ?? ""))</td></tr>")
        }
        out.write("</table></section>\n")
    }

    /// One row per answer; a schema answer (`json`) gets a column per top-level key.
    private func questionsAndAnswers(_ stage: String, _ out: OutputSink) throws {
        var keys: Set<String> = []
        try records.forEach { r in keys.formUnion(r.results[stage]?["json"]?.objectValue?.keys ?? [:].keys) }
        let columns = keys.sorted()
        out.write("<section><h2>Questions and answers: \(escape(stage))</h2><table><tr><th>Item</th><th>Question</th><th>Answer</th>"
                  + columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr>")
        try records.forEach { r in
            guard let result = r.results[stage] else { return }
            let question = r.fields?["question"] ?? result["prompt"]?.text ?? ""
            let answer = result["answer"]?.text ?? result["text"]?.text ?? ""
            let cells = columns.map { "<td>\(escape(result["json"]?[$0]?.text ?? ""))</td>" }.joined()
            out.write("<tr><td>\(escape(r.input))</td><td>\(escape(question))</td><td>\(escape(answer))</td>\(cells)</tr>")
        }
        out.write("</table></section>\n")
    }

    private func contactSheet(_ stages: [String], count: Int, _ out: OutputSink) throws {
        out.write("<section><h2>Images (\(count))</h2><div class=\"sheet\">")
        try records.forEach { r in
            guard r.media.hasPrefix("image/"), stages.contains(where: { r.results[$0] != nil }) else { return }
            let boxed = stages.lazy.compactMap { r.results[$0] }.first { !($0["objects"]?.arrayValue ?? []).isEmpty }
            out.write("<figure>" + (boxed.flatMap { boxedImage(r, $0) } ?? inlineImage(r)) + "<figcaption><b>\(escape(r.input))</b>")
            for stage in stages {
                guard let result = r.results[stage] else { continue }
                if let text = result["text"]?.text ?? result["caption"]?.text { out.write("<p>\(escape(text))</p>") }
                let list: [JSONValue] = result["tags"]?.arrayValue ?? result["objects"]?.arrayValue ?? []
                let tags = list.compactMap { (tag: JSONValue) -> String? in tag.stringValue ?? tag["label"]?.text }
                if !tags.isEmpty { out.write("<p class=\"tags\">" + tags.map { "<span>\(escape($0))</span>" }.joined() + "</p>") }
                // top ImageNet classes: a caption's `classes`, a classify stage's `labels`
                let classes = (result["classes"]?.arrayValue ?? result["labels"]?.arrayValue ?? []).compactMap { c -> String? in
                    guard let name = c["noun"]?.text ?? c["label"]?.text, let score = c["score"]?.doubleValue else { return nil }
                    return "<span>\(escape(name)) \(String(format: "%.2f", score))</span>"
                }
                if !classes.isEmpty { out.write("<p class=\"classes\">" + classes.joined() + "</p>") }
            }
            out.write("</figcaption></figure>")
        }
        out.write("</div></section>\n")
    }

    /// Per video: a strip of frame thumbnails (decoded again at the recorded times, 160 px wide)
    /// with each frame's caption under it, then the transcript's text.
    private func videoStrips(_ stages: [String], transcripts: [String], count: Int, _ out: OutputSink) throws {
        out.write("<section><h2>Videos (\(count))</h2>")
        try records.forEach { r in
            guard r.media.hasPrefix("video/"), r.status == .ok else { return }
            out.write("<div class=\"video\"><h3>\(escape(r.input))</h3>")
            for stage in stages {
                guard let frames = r.results[stage]?["frames"]?.arrayValue else { continue }
                let times = frames.compactMap { $0["time"]?.doubleValue }
                var thumbnails: [Double: String] = [:]
                try? VideoFrames.sample(path: r.path, at: times) { frame in
                    let width = min(160, frame.image.width)
                    let height = max(1, frame.image.height * width / max(1, frame.image.width))
                    let small = frame.image.resizedLikePillow(width: width, height: height, filter: .bilinear)
                    thumbnails[times.first { abs($0 - frame.time) < 1 } ?? frame.time] = PNGEncoder.encode(small).base64EncodedString()
                }
                out.write("<div class=\"strip\">")
                for frame in frames {
                    let time = frame["time"]?.doubleValue ?? 0
                    let image = thumbnails[time].map { "<img alt=\"frame at \(Self.clock(time))\" src=\"data:image/png;base64,\($0)\">" }
                        ?? "<div class=\"noimage\">\(Self.clock(time))</div>"
                    out.write("<figure class=\"frame\">\(image)<figcaption><b>\(Self.clock(time))</b> \(escape(frame["text"]?.text ?? ""))</figcaption></figure>")
                }
                out.write("</div>")
            }
            for stage in transcripts {
                if let text = r.results[stage]?["text"]?.text { out.write("<p class=\"transcript\">\(escape(text))</p>") }
            }
            out.write("</div>")
        }
        out.write("</section>\n")
    }

    static func clock(_ seconds: Double) -> String { VideoFrameSampling.clock(seconds) }

    /// The inlined photo in an SVG whose user space is the photo's pixels (`viewBox` 0 0 width height,
    /// scaled and cropped like the other thumbnails), one `<rect>` and label per detected object:
    /// solid when the caption names it (`caption_sources`), dashed when not.
    private func boxedImage(_ r: ResultRecord, _ result: JSONValue) -> String? {
        guard let source = inlineSource(r), let width = result["width"]?.doubleValue, let height = result["height"]?.doubleValue,
              width > 0, height > 0 else { return nil }
        let named = Set((result["caption_sources"]?.arrayValue ?? []).flatMap { $0["objects"]?.arrayValue ?? [] }.compactMap { $0.doubleValue.map { Int($0) } })
        let font = max(width, height) / 28
        let number = { (v: Double) in String(format: "%.1f", v) }
        var svg = "<svg class=\"boxes\" viewBox=\"0 0 \(number(width)) \(number(height))\" preserveAspectRatio=\"xMidYMid slice\" "
            + "role=\"img\" aria-label=\"\(escape(r.input))\"><image href=\"\(source)\" width=\"\(number(width))\" height=\"\(number(height))\"/>"
        for (i, object) in (result["objects"]?.arrayValue ?? []).enumerated() {
            let box = (object["box"]?.arrayValue ?? []).compactMap(\.doubleValue)
            guard box.count == 4, box[2] > box[0], box[3] > box[1] else { continue }
            let label = "\(object["label"]?.text ?? "?") \(String(format: "%.2f", object["score"]?.doubleValue ?? 0))"
            let dash = named.contains(i) ? "" : " stroke-dasharray=\"6 4\""
            svg += "<rect x=\"\(number(box[0]))\" y=\"\(number(box[1]))\" width=\"\(number(box[2] - box[0]))\" height=\"\(number(box[3] - box[1]))\"\(dash)/>"
                + "<text x=\"\(number(box[0] + font / 4))\" y=\"\(number(box[1] + font))\" font-size=\"\(number(font))\">\(escape(label))</text>"
        }
        return svg + "</svg>"
    }

    private func inlineImage(_ r: ResultRecord) -> String {
        guard let source = inlineSource(r) else {
            return "<div class=\"noimage\">\(escape(URL(fileURLWithPath: r.input).lastPathComponent))</div>"
        }
        return "<img alt=\"\(escape(r.input))\" src=\"\(source)\">"
    }

    /// The photo as a data: URL, if browsers show its format and it is small enough to inline.
    private func inlineSource(_ r: ResultRecord) -> String? {
        // what browsers show (TIFF and HEIF mostly not)
        let inlineable = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"].contains(r.media)
        guard inlineable, r.bytes <= maxInlineImageBytes, let data = FileManager.default.contents(atPath: r.path) else { return nil }
        return "data:\(r.media);base64,\(data.base64EncodedString())"
    }

    private func transcripts(_ stage: String, count: Int, _ out: OutputSink) throws {
        out.write("<section><h2>Transcripts: \(escape(stage)) (\(count))</h2>")
        try records.forEach { r in
            guard let result = r.results[stage] else { return }
            let seconds = result["duration"]?.doubleValue ?? r.mediaSeconds ?? 0
            let language = result["language"]?.text ?? ""
            out.write("<details\(count <= 20 ? " open" : "")><summary><b>\(escape(r.input))</b> · \(duration(seconds))"
                      + (language.isEmpty ? "" : " · \(escape(language))") + "</summary><table class=\"segments\">")
            for segment in result["segments"]?.arrayValue ?? [] {
                let start = TranscriptDocument.timestamp(segment["start"]?.doubleValue ?? 0, comma: false)
                let end = TranscriptDocument.timestamp(segment["end"]?.doubleValue ?? 0, comma: false)
                let text = (segment["text"]?.text ?? "").trimmingCharacters(in: .whitespaces)
                out.write("<tr><td class=\"time\">\(start) → \(end)</td><td>\(escape(text))</td></tr>")
            }
            out.write("</table></details>\n")
        }
        out.write("</section>\n")
    }

    static let style = """
        body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
        h1{margin-bottom:.5rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
        table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #eee}
        table.facts{width:auto}table.facts th{padding-right:2rem}
        td.hash,td.options{font:12px monospace;word-break:break-all}td.time{font:13px monospace;white-space:nowrap;color:#666;width:14rem}
        tr.error td{background:#fff3f3}details{margin:.4rem 0;border:1px solid #eee;border-radius:6px;padding:.3rem .7rem}
        summary{cursor:pointer}.sheet{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem}
        figure{margin:0;border:1px solid #eee;border-radius:6px;overflow:hidden}figure img{width:100%;height:12rem;object-fit:cover;display:block}
        .strip{display:flex;gap:.5rem;overflow-x:auto}.strip figure{flex:0 0 160px}.strip figure img{height:auto}.strip figcaption{font-size:.8rem;padding:.25rem}
        .noimage{height:12rem;display:flex;align-items:center;justify-content:center;background:#f4f4f4;color:#888}
        figcaption{padding:.4rem .6rem;font-size:14px}.tags span,.classes span{display:inline-block;background:#eef;border-radius:4px;padding:0 .3rem;margin:.1rem}
        .classes span{background:#efe;font-size:12px}svg.boxes{width:100%;height:12rem;display:block}
        svg.boxes rect{fill:none;stroke:#ff0;stroke-width:2;vector-effect:non-scaling-stroke}svg.boxes text{fill:#ff0;stroke:#000;stroke-width:.5px;paint-order:stroke}
        footer{margin-top:3rem;color:#888;font-size:13px}
        """
}

/// Text made safe for HTML element content and attribute values.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}
