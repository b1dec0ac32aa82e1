import Foundation
import Pipelines
import XCTest

final class InputTests: XCTestCase {
    func testSniffsMagicBytes() {
        func sniff(_ bytes: [UInt8]) -> String { MediaType.sniff(bytes).mime }
        func ascii(_ s: String, pad: Int = 40) -> [UInt8] { Array(s.utf8) + [UInt8](repeating: 0, count: pad) }
        XCTAssertEqual(sniff(ascii("RIFF\u{1}\u{2}\u{3}\u{4}WAVEfmt ")), "audio/wav")
        XCTAssertEqual(sniff(ascii("RIFF\u{1}\u{2}\u{3}\u{4}WEBPVP8 ")), "image/webp")
        XCTAssertEqual(sniff(ascii("fLaC")), "audio/flac")
        XCTAssertEqual(sniff(ascii("OggS")), "audio/ogg")
        XCTAssertEqual(sniff(Array("OggS".utf8) + [UInt8](repeating: 0, count: 24) + Array("OpusHead".utf8)), "audio/opus")
        XCTAssertEqual(sniff(ascii("ID3\u{4}")), "audio/mpeg")
        XCTAssertEqual(sniff([0xFF, 0xFB, 0x90, 0x64]), "audio/mpeg")   // MPEG-1 layer III frame
        XCTAssertEqual(sniff([0xFF, 0xF1, 0x50, 0x80]), "audio/aac")    // ADTS
        XCTAssertEqual(sniff([0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg")   // not mistaken for frame sync
        XCTAssertEqual(sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]), "image/png")
        XCTAssertEqual(sniff(ascii("FORM\0\0\0\0AIFF")), "audio/aiff")
        XCTAssertEqual(sniff(ascii("GIF89a")), "image/gif")
        XCTAssertEqual(sniff(ascii("II*\0")), "image/tiff")
        XCTAssertEqual(sniff(ascii("BM\0\0\0\0\0\0\0\0\0\0\0\0(\0\0\0")), "image/bmp")        // 40-byte DIB header
        XCTAssertEqual(sniff(ascii("BM not a bitmap header")), "unknown")
        XCTAssertEqual(sniff(ascii("\0\0\0\u{18}ftypheic\0\0\0\0mif1heic")), "image/heif")
        XCTAssertEqual(sniff(ascii("\0\0\0\u{1c}ftypavif\0\0\0\0avifmif1miaf")), "image/avif")
        XCTAssertEqual(sniff(ascii("\0\0\0\u{18}ftypmif1\0\0\0\0mif1avif")), "image/avif")
        XCTAssertEqual(sniff(ascii("\0\0\0\u{18}ftypisom\0\0\0\0isomavc1")), "video/mp4")
        XCTAssertEqual(sniff(ascii("\0\0\0\u{18}ftypM4A \0\0\0\0M4A mp42")), "audio/mp4")
        XCTAssertEqual(sniff(ascii("\0\0\0\u{20}ftypM4A \0\0\0\0")), "audio/mp4")
        XCTAssertEqual(sniff(ascii("\0\0\0\u{20}ftypisom\0\0\0\0")), "video/mp4")
        XCTAssertEqual(sniff(ascii("\0\0\0\u{14}ftypqt  \0\0\0\0")), "video/quicktime")
        XCTAssertEqual(sniff([0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84] + Array("webm".utf8)), "video/webm")
        XCTAssertEqual(sniff([0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x88] + Array("matroska".utf8)), "video/x-matroska")
        XCTAssertEqual(sniff([0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C]), "video/x-ms-asf")
        XCTAssertEqual(sniff(ascii("RIFF\u{1}\u{2}\u{3}\u{4}AVI LIST")), "video/x-msvideo")
        XCTAssertEqual(sniff(ascii("#!AMR\n")), "audio/amr")
        XCTAssertEqual(sniff(ascii("#!AMR-WB\n")), "audio/amr-wb")
        XCTAssertEqual(sniff([0x0B, 0x77, 0x3C, 0x2A]), "audio/ac3")
        XCTAssertEqual(sniff(ascii("This is not audio")), "unknown")
        XCTAssertEqual(sniff([]), "unknown")
        XCTAssertEqual(sniff([0xFF]), "unknown")
    }

    func testRealFilesAreSniffedByContentNotName() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let wavNamedMP3 = try Fixtures.copy(Fixtures.sample("jfk.wav"), into: folder, as: "disguised.mp3")
        XCTAssertEqual(MediaType.sniff(path: wavNamedMP3).mime, "audio/wav")
        XCTAssertEqual(MediaType.sniff(path: Fixtures.sample("jfk.mp3")).mime, "audio/mpeg")
        XCTAssertEqual(MediaType.sniff(path: Fixtures.sample("speech_espeak.flac")).mime, "audio/flac")
        XCTAssertEqual(MediaType.sniff(path: try Fixtures.testClip("speech.ogg")).mime, "audio/ogg")
        XCTAssertEqual(MediaType.sniff(path: try Fixtures.testClip("notaudio.wav")).mime, "unknown")
        XCTAssertEqual(MediaType.sniff(path: try Fixtures.testClip("empty.wav")).mime, "unknown")
        XCTAssertEqual(MediaType.sniff(path: folder.appendingPathComponent("missing").path).mime, "unknown")
        XCTAssertEqual(MediaType.unrecognisedReason(path: try Fixtures.testClip("empty.wav")), "empty file (0 bytes)")
        // Containers by their streams: a soundtrack-only WebM/Matroska/ASF is audio, one with a video stream video.
        let kinds: [(String, String)] = [("jfk.m4a", "audio/mp4"), ("jfk.webm", "audio/webm"), ("jfk.mkv", "audio/x-matroska"),
                                         ("jfk.wma", "audio/x-ms-asf"), ("jfk_video.mp4", "video/mp4"),
                                         ("jfk_stereo.mov", "audio/quicktime"), ("video_only.mp4", "video/mp4"),
                                         ("no_index.m4a", "audio/mp4")]
        for (name, mime) in kinds { XCTAssertEqual(MediaType.sniff(path: try Fixtures.testClip("containers/" + name)).mime, mime, name) }
    }

    /// Folders: media found by content (extensionless too), hidden files and non-media skipped,
    /// corrupt files with a media name kept; globs with `*` and `**`; bare strings.
    func testFoldersGlobsAndSidecarNames() throws {
        let folder = try Fixtures.temporaryFolder(self)
        let data = folder.appendingPathComponent("data")
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: data)
        try Fixtures.copy(Fixtures.sample("jfk.mp3"), into: data)
        try Fixtures.copy(Fixtures.sample("speech_espeak.flac"), into: data.appendingPathComponent("a/b"), as: "recording")
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: data.appendingPathComponent("a"), as: "jfk.wav")
        try Fixtures.copy(try Fixtures.testClip("notaudio.wav"), into: data.appendingPathComponent("a"))
        try Fixtures.write("notes", to: data.appendingPathComponent("notes.txt"))
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: data, as: ".hidden.wav")
        try Fixtures.tinyPNG.write(to: data.appendingPathComponent("photo.png"))
        try FileManager.default.createSymbolicLink(atPath: data.appendingPathComponent("a/loop").path, withDestinationPath: data.path)

        let pipeline = try Fixtures.write("""
            inputs:
              - data
              - "data/*.mp3"
              - glob: "data/**/*.wav"
            stages: [{task: transcribe}]
            outputs: {directory: out}
            """, to: folder.appendingPathComponent("p.yaml"))
        let loaded = try Pipeline.load(path: pipeline.path)
        XCTAssertEqual(loaded.items.map(\.id), ["data/a/b/recording", "data/a/jfk.wav", "data/a/notaudio.wav", "data/jfk.mp3", "data/jfk.wav"])
        XCTAssertEqual(loaded.items.map(\.media.mime), ["audio/flac", "audio/wav", "unknown", "audio/mpeg", "audio/wav"])
        XCTAssertEqual(loaded.items.map(\.index), [0, 1, 2, 3, 4])
        XCTAssertEqual(loaded.items.map(\.sidecarName), ["a/b/recording", "a/jfk", "a/notaudio", "jfk.mp3", "jfk.wav"])
        XCTAssertEqual(loaded.items[0].path, data.appendingPathComponent("a/b/recording").standardizedFileURL.path)
        // The glob and the *.mp3 input list files already listed: processed once, with a warning.
        XCTAssertTrue(loaded.warnings.contains { $0.message.contains("data/jfk.mp3 is listed twice") }, "\(loaded.warnings)")
    }

    func testManifestsCarryFieldsAndIds() throws {
        let folder = try Fixtures.temporaryFolder(self)
        try Fixtures.copy(Fixtures.sample("jfk.wav"), into: folder.appendingPathComponent("media"))
        try Fixtures.write("""
            \u{FEFF}id,path,question,speaker
            q1,../media/jfk.wav,"Who is asked, and what?",JFK
            q2,../media/jfk.wav,"A ""quoted""
            question",JFK\r
            """, to: folder.appendingPathComponent("lists/items.csv"))
        try Fixtures.write("""
            {"path": "media/jfk.wav", "key": 7, "question": "Which country?", "tags": ["a", "b"], "none": null}

            """, to: folder.appendingPathComponent("items.jsonl"))
        let pipeline = try Fixtures.write("""
            inputs:
              - manifest: lists/items.csv
              - manifest: items.jsonl
                id_field: key
                fields: {lang: en}
            stages: [{task: transcribe}]
            outputs: {directory: out}
            """, to: folder.appendingPathComponent("p.yaml"))
        let items = try Pipeline.load(path: pipeline.path).items
        XCTAssertEqual(items.map(\.id), ["q1", "q2", "7"])
        XCTAssertEqual(items.map(\.input), ["media/jfk.wav", "media/jfk.wav", "media/jfk.wav"])
        XCTAssertEqual(items[0].fields, ["question": "Who is asked, and what?", "speaker": "JFK"])
        XCTAssertEqual(items[1].fields["question"], "A \"quoted\"\nquestion")
        XCTAssertEqual(items[2].fields, ["question": "Which country?", "tags": "[\"a\",\"b\"]", "lang": "en"])
        XCTAssertEqual(items[0].source, "lists/items.csv:2")
        XCTAssertEqual(items[1].source, "lists/items.csv:3")
        XCTAssertEqual(items.map(\.sidecarName), ["q1", "q2", "7"])
    }

    func testShardsPartitionItemsDeterministically() throws {
        let ids = (0..<300).map { "archive/tape-\($0).wav" }
        let shards = try (0..<3).map { try Shard(index: $0, count: 3) }
        var owners = [Int](repeating: 0, count: ids.count)
        for shard in shards { for (i, id) in ids.enumerated() where shard.contains(id) { owners[i] += 1 } }
        XCTAssertEqual(owners, [Int](repeating: 1, count: ids.count), "every id in exactly one shard")
        let sizes = shards.map { shard in ids.filter(shard.contains).count }
        XCTAssertTrue(sizes.allSatisfy { $0 > 70 }, "\(sizes)")
        // Fixed by the id alone (SHA-256): the same on every machine and in every order.
        XCTAssertTrue(try Shard(index: 1, count: 3).contains("archive/tape-0.wav") == shards[1].contains("archive/tape-0.wav"))
        XCTAssertTrue(try Shard(index: 0, count: 1).contains("anything"))
    }

    func testShardFromFlagsAndSchedulers() throws {
        XCTAssertEqual(try Shard.resolve(flag: "2/5", shards: nil, environment: [:]), try Shard(index: 2, count: 5))
        XCTAssertNil(try Shard.resolve(flag: nil, shards: nil, environment: [:]))
        XCTAssertEqual(try Shard.resolve(flag: nil, shards: nil, environment: [
            "SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4",
        ]), try Shard(index: 2, count: 4))
        XCTAssertEqual(try Shard.resolve(flag: nil, shards: nil, environment: ["JOB_COMPLETION_INDEX": "1", "HEARTH_SHARDS": "3"]),
                       try Shard(index: 1, count: 3))
        XCTAssertEqual(try Shard.resolve(flag: nil, shards: 8, environment: ["JOB_COMPLETION_INDEX": "7", "HEARTH_SHARDS": "3"]),
                       try Shard(index: 7, count: 8))
        XCTAssertThrowsError(try Shard.resolve(flag: nil, shards: nil, environment: ["JOB_COMPLETION_INDEX": "1"]))
        XCTAssertThrowsError(try Shard.resolve(flag: "3/3", shards: nil, environment: [:]))
        XCTAssertThrowsError(try Shard.resolve(flag: "1-3", shards: nil, environment: [:]))
        XCTAssertThrowsError(try Shard.resolve(flag: nil, shards: 3, environment: [:]))
    }
}
