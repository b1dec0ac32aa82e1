import Foundation
import Models
import ModelStore
import Pipelines
import XCTest

/// `batched: true` (faster-whisper's BatchedInferencePipeline, with lanes): the speech of one
/// recording cut into lanes at VAD chunk joins, decoded side by side, with real silero-vad and
/// whisper-tiny.en on the ~3-minute long-form clip (`make test-models test-audio`).
final class BatchedTranscriptionTests: XCTestCase {
    /// Lanes abut, cover the concatenated speech, cut only at chunk joins, and are ≥ the minimum.
    func testLanesCutAtChunkJoins() {
        let lengths = [5, 12, 3, 20, 8, 9, 30, 4].map { $0 * 16_000 }
        var chunks: [SpeechChunk] = [], position = 0
        for n in lengths { chunks.append(SpeechChunk(start: position + 8_000, end: position + 8_000 + n)); position += n + 16_000 }
        let speech = SpeechOnlyAudio(chunks: chunks, samples: [Float](repeating: 0, count: lengths.reduce(0, +)), originalSampleCount: position)
        let lanes = speech.lanes(count: 8, minSeconds: 30)
        XCTAssertEqual(lanes.count, 3)   // 91 s of speech: at most 3 lanes of ≥ 30 s
        XCTAssertEqual(lanes.first?.lowerBound, 0)
        XCTAssertEqual(lanes.last?.upperBound, 9_100)
        for (a, b) in zip(lanes, lanes.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
        var joins = Set<Int>(), end = 0
        for n in lengths { end += n; joins.insert(end / 160) }
        for lane in lanes.dropLast() { XCTAssertTrue(joins.contains(lane.upperBound), "\(lane)") }
        XCTAssertEqual(speech.lanes(count: 1, minSeconds: 30), [0 ..< 9_100])
        XCTAssertEqual(SpeechOnlyAudio(chunks: [], samples: [], originalSampleCount: 0).lanes(count: 8, minSeconds: 30), [])
    }

    /// The batched transcript reads like the sequential one (word error vs the known text within 3
    /// points of `vad_filter`'s), its segments are in order inside the recording, and the record
    /// says how long the encoder and decoder took.
    func testBatchedLongFormKeepsTheSequentialAccuracy() throws {
        for model in [ModelCatalog.defaultVAD, ModelCatalog.defaultWhisper] {
            do { _ = try ModelStore().resolve(model) } catch { XCTFail("\(model) is not installed (\(error)); run `make test-models`"); throw error }
        }
        let clip = try Fixtures.testClip("longform.wav")
        let reference = try String(contentsOfFile: clip.replacingOccurrences(of: ".wav", with: ".txt"), encoding: .utf8)
        let folder = try Fixtures.temporaryFolder(self)
        var texts: [String: String] = [:]
        for mode in ["vad_filter", "batched"] {
            let pipeline = try Fixtures.write("""
                inputs: [\(clip)]
                stages:
                  - task: transcribe
                    options: {language: en, beam_size: 1, best_of: 1, temperature: 0, \(mode): true}
                outputs: {directory: \(mode)}
                """, to: folder.appendingPathComponent("\(mode).yaml"))
            var options = RunOptions()
            options.progress = .silent
            let runner = PipelineRunner(pipeline: try Pipeline.load(path: pipeline.path), options: options)
            _ = try runner.run()
            let record = try XCTUnwrap(ResultsLog.read(runner.resultsURL).records.first)
            XCTAssertEqual(record.status, .ok, record.message ?? "")
            let result = try XCTUnwrap(record.results["transcribe"])
            texts[mode] = result["text"]?.stringValue ?? ""
            let segments = try XCTUnwrap(result["segments"]?.arrayValue)
            let starts = segments.compactMap { $0["start"]?.doubleValue }, ends = segments.compactMap { $0["end"]?.doubleValue }
            XCTAssertEqual(starts, starts.sorted(), mode)
            XCTAssertTrue(zip(starts, ends).allSatisfy { $0 <= $1 && $1 <= 176.2 }, "\(mode): \(zip(starts, ends).filter { $0 > $1 || $1 > 176.2 })")
            XCTAssertEqual(segments.compactMap { $0["id"]?.doubleValue }, (1...segments.count).map(Double.init), mode)
            XCTAssertGreaterThan(record.timings["transcribe.encoder"] ?? 0, 0, mode)
            XCTAssertGreaterThan(record.timings["transcribe.decoder"] ?? 0, 0, mode)
            if mode == "batched" {
                XCTAssertEqual(record.provenance.stages.last?.provenance.options["batched"], .bool(true))
            }
        }
        let sequential = Self.wordErrorRate(reference, texts["vad_filter"]!), batched = Self.wordErrorRate(reference, texts["batched"]!)
        print("long-form WER: vad_filter \(sequential), batched \(batched)")
        XCTAssertLessThan(batched, sequential + 0.03, texts["batched"]!)
    }

    /// Word-level Levenshtein distance / reference words, over lowercased words without punctuation.
    static func wordErrorRate(_ reference: String, _ hypothesis: String) -> Double {
        func words(_ s: String) -> [String] {
            s.lowercased().split { $0.isWhitespace || $0 == "-" }.map { $0.filter { $0.isLetter || $0.isNumber } }.filter { !$0.isEmpty }
        }
        let r = words(reference), h = words(hypothesis)
        var previous = Array(0...h.count)
        for i in 1...max(1, r.count) where !r.isEmpty {
            var row = [i] + [Int](repeating: 0, count: h.count)
            for j in stride(from: 1, through: h.count, by: 1) {
                row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1))
            }
            previous = row
        }
        return Double(previous[h.count]) / Double(max(1, r.count))
    }
}
