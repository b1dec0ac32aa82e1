// A caption sentence from detected objects and ImageNet classes, without a language model: counts
// per label ("two people"), the labels in order of the area they cover, and a short spatial hint
// after the first one — "on a horse" when it stands on a surface-like object (bench, bed, horse, …),
// else where it sits in the picture ("A horse on the right, a person and a dog."); a confident
// ImageNet class that is a kind of a lone detected object names it ("a tabby cat"); a confident
// class the detector cannot name is added ("and a volcano"); a place class sets the scene
// (", on a seashore"). Every phrase keeps what it rests on (CaptionPart).

import Foundation

public enum CaptionBuilder {
    /// Objects a caption keeps: at least this score (lower ones stay in the record's objects).
    public static let minimumScore: Float = 0.25
    /// At most this many kinds of object are named.
    public static let maxLabels = 4

    // Thresholds on ImageNet softmax probabilities, set from the sample and test photos (README,
    // "What a caption is made from"): below them the classes measured were wrong or a coin flip.
    /// A top class that is a kind of a lone detected object renames it (kite 0.499 for a bald eagle,
    /// tiger cat 0.379 vs Egyptian cat 0.375 for one tabby stayed below; zebra 0.546 agreed).
    public static let agreeingClassScore: Float = 0.5
    /// A top class no detection backs is named only above this (wrong ones measured: spider web
    /// 0.712 on a cellular-automaton pattern, parachute 0.563 for a kite).
    public static let loneClassScore: Float = 0.8
    /// A place among the top classes sets the scene from this (beach 0.089 on kite.jpg's beach;
    /// volcano 0.049 on The Scream, ≤ 0.018 on synthetic images).
    public static let sceneScore: Float = 0.08

    /// "A cat on a couch." / "Two people and a horse on the left." / "No objects recognised."
    public static func caption(_ objects: [DetectedObject], imageWidth: Int, imageHeight: Int) -> String {
        compose(objects, classes: [], imageWidth: imageWidth, imageHeight: imageHeight).text
    }

    /// The sentence and the evidence of each phrase; `classes` are the image's top ImageNet classes, best first.
    public static func compose(_ objects: [DetectedObject], classes: [ImageClass], imageWidth: Int, imageHeight: Int) -> Caption {
        let groups = grouped(distinct(objects.filter { $0.score >= minimumScore }))
        let hint = spatialHint(groups, imageWidth: imageWidth, imageHeight: imageHeight)
        let indices = { (group: [DetectedObject]) in group.compactMap { objects.firstIndex(of: $0) } }
        let top = classes.first
        let topKind = top.flatMap { ImageNetVocabulary.cocoLabel[$0.index] }
        // "A cat on a couch", not "A cat and a couch on a couch": a lone surface named by the hint is not listed.
        var parts: [CaptionPart] = groups.prefix(maxLabels)
            .filter { !(hint?.surface == $0.label && $0.objects.count == 1) }
            .map { g in
                if let top, top.score >= agreeingClassScore, topKind == g.label, g.objects.count == 1 {
                    let noun = ImageNetVocabulary.noun(top, agreeingWith: g.label)
                    return CaptionPart(phrase: article(noun) + " " + noun, source: .detectorAndClassifier,
                                       objects: indices(g.objects), classes: [top])
                }
                return CaptionPart(phrase: phrase(count: g.objects.count, label: g.label), source: .detector, objects: indices(g.objects))
            }
        if let hint, !parts.isEmpty {   // the hint is about the first-named object
            parts[0].phrase += " " + hint.text
            if let surface = hint.surfaceObject { parts[0].objects += indices([surface]) }
        }
        if let top, top.score >= loneClassScore, ImageNetVocabulary.places[top.index] == nil,
           !groups.contains(where: { $0.label == topKind }) {
            let noun = ImageNetVocabulary.noun(top)
            parts.append(CaptionPart(phrase: article(noun) + " " + noun, source: .classifier, classes: [top]))
        }
        let place = classes.first { ImageNetVocabulary.places[$0.index] != nil && $0.score >= sceneScore }
        guard !parts.isEmpty || place != nil else { return Caption(text: "No objects recognised.", parts: []) }
        var sentence = list(parts.map(\.phrase))
        if let place, let preposition = ImageNetVocabulary.places[place.index] {
            let noun = ImageNetVocabulary.noun(place)
            let scene = parts.isEmpty ? article(noun) + " " + noun : preposition + " " + article(noun) + " " + noun
            sentence += parts.isEmpty ? scene : ", " + scene
            parts.append(CaptionPart(phrase: scene, source: .scene, classes: [place]))
        }
        return Caption(text: sentence.prefix(1).uppercased() + sentence.dropFirst() + ".", parts: parts)
    }

    /// Distinct labels, the label covering the most area first.
    public static func tags(_ objects: [DetectedObject]) -> [String] { grouped(objects).map(\.label) }

    /// The objects a sentence counts: darknet may report one object under two labels (a car that is
    /// also a truck: the same or a nearly identical box, IoU > 0.7), which keeps its best label; and a
    /// box lying (95 %) inside a higher-scored box of the same label is the same object seen at two
    /// scales (per-class NMS keeps such pairs: their IoU is low).
    public static func distinct(_ objects: [DetectedObject]) -> [DetectedObject] {
        var out: [DetectedObject] = []
        for o in objects.sorted(by: { $0.score > $1.score }) {
            let duplicate = out.contains { k in
                let iw = min(k.box[2], o.box[2]) - max(k.box[0], o.box[0]), ih = min(k.box[3], o.box[3]) - max(k.box[1], o.box[1])
                guard iw > 0 && ih > 0 else { return false }
                let inter = iw * ih
                if k.label != o.label { return inter / (k.area + o.area - inter) > 0.7 }
                return inter >= 0.95 * min(k.area, o.area)
            }
            if !duplicate { out.append(o) }
        }
        return out
    }

    struct Group { let label: String; var objects: [DetectedObject]; var area: Float }

    static func grouped(_ objects: [DetectedObject]) -> [Group] {
        var groups: [Group] = []
        for o in objects {
            if let i = groups.firstIndex(where: { $0.label == o.label }) {
                groups[i].objects.append(o); groups[i].area += o.area
            } else {
                groups.append(Group(label: o.label, objects: [o], area: o.area))
            }
        }
        return groups.sorted { $0.area != $1.area ? $0.area > $1.area : $0.label < $1.label }
    }

    /// Words for darknet's joined COCO names (its coco.names says `diningtable`, `tvmonitor`…).
    static let spoken = ["diningtable": "dining table", "pottedplant": "potted plant", "tvmonitor": "TV", "sofa": "sofa",
                         "motorbike": "motorbike", "aeroplane": "aeroplane"]

    /// "a dog", "an umbrella", "two people", "12 cars".
    public static func phrase(count: Int, label: String) -> String {
        let label = spoken[label] ?? label
        if count == 1 { return article(label) + " " + label }
        let words = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
        return (count <= 10 ? words[count - 2] : "\(count)") + " " + plural(label)
    }

    static func article(_ word: String) -> String {
        guard let first = word.lowercased().first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }

    /// Plurals of the COCO class names (and a regular rule for others).
    public static func plural(_ label: String) -> String {
        let irregular = ["person": "people", "mouse": "mice", "sheep": "sheep", "skis": "pairs of skis", "scissors": "pairs of scissors",
                         "knife": "knives", "wine glass": "wine glasses", "bus": "buses", "bench": "benches", "couch": "couches",
                         "sandwich": "sandwiches", "toothbrush": "toothbrushes", "skateboard": "skateboards", "hair drier": "hair driers",
                         "TV": "TVs"]
        if let p = irregular[label] { return p }
        if label.hasSuffix("s") || label.hasSuffix("sh") || label.hasSuffix("ch") || label.hasSuffix("x") { return label + "es" }
        if label.hasSuffix("y"), let before = label.dropLast().last, !"aeiou".contains(before) { return label.dropLast() + "ies" }
        return label + "s"
    }

    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        case 2: return items[0] + " and " + items[1]
        default: return items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
        }
    }

    /// Objects something else stands or sits on.
    static let surfaces: Set<String> = ["bench", "bed", "couch", "sofa", "chair", "dining table", "diningtable", "horse", "motorcycle",
                                        "motorbike", "bicycle", "surfboard", "skateboard", "boat", "elephant", "toilet"]

    struct Hint {
        var text: String
        var surfaceObject: DetectedObject? = nil
        var surface: String? { surfaceObject?.label }
    }

    /// "on a couch" when the main group's largest object has its bottom on a surface object (its
    /// lower edge inside the surface's box, its centre above the surface's bottom), else "on the left" /
    /// "on the right" / "at the top" / "at the bottom" when the main group's boxes together sit off-centre.
    static func spatialHint(_ groups: [Group], imageWidth: Int, imageHeight: Int) -> Hint? {
        guard let group = groups.first, let main = group.objects.max(by: { $0.area < $1.area }) else { return nil }
        let surface = groups.dropFirst().flatMap(\.objects).filter { surfaces.contains($0.label) && $0.label != main.label }
            .filter { s in
                let cx = (main.box[0] + main.box[2]) / 2
                return cx > s.box[0] && cx < s.box[2] && main.box[3] > s.box[1] && main.box[3] <= s.box[3] + 0.1 * (s.box[3] - s.box[1])
                    && (main.box[1] + main.box[3]) / 2 < s.box[3]
            }
            .max { $0.area < $1.area }
        if let surface {
            let word = spoken[surface.label] ?? surface.label
            return Hint(text: "on " + article(word) + " " + word, surfaceObject: surface)
        }
        let union = group.objects.dropFirst().reduce(group.objects[0].box) { u, o in
            [min(u[0], o.box[0]), min(u[1], o.box[1]), max(u[2], o.box[2]), max(u[3], o.box[3])]
        }
        let width = Float(max(imageWidth, 1)), height = Float(max(imageHeight, 1))
        if (union[2] - union[0]) * (union[3] - union[1]) > 0.5 * width * height { return nil }   // fills the picture
        let cx = (union[0] + union[2]) / 2 / width, cy = (union[1] + union[3]) / 2 / height
        if cx < 0.33 { return Hint(text: "on the left") }
        if cx > 0.67 { return Hint(text: "on the right") }
        if cy < 0.3 { return Hint(text: "at the top") }
        if cy > 0.7 { return Hint(text: "at the bottom") }
        return nil
    }
}

/// An ImageNet class of the whole image, as a caption uses it.
public struct ImageClass: Sendable, Equatable {
    public let index: Int
    /// The classifier's printed name (imagenet1k_clean_names.json).
    public let label: String
    /// WordNet's synonyms, the first being the noun a caption says.
    public let synonyms: [String]
    public let score: Float
    public init(index: Int, label: String, synonyms: [String], score: Float) {
        self.index = index; self.label = label; self.synonyms = synonyms; self.score = score
    }
}

/// A caption sentence and, per phrase, the model outputs it rests on.
public struct Caption: Sendable, Equatable {
    public var text: String
    public var parts: [CaptionPart]
}

public struct CaptionPart: Sendable, Equatable {
    public enum Source: String, Sendable { case detector, classifier, scene, detectorAndClassifier = "detector+classifier" }
    /// The words in the sentence ("two people on the left", "on a seashore").
    public var phrase: String
    public var source: Source
    /// Indices into the description's `objects` (with a surface named by the hint).
    public var objects: [Int] = []
    public var classes: [ImageClass] = []
    public init(phrase: String, source: Source, objects: [Int] = [], classes: [ImageClass] = []) {
        self.phrase = phrase; self.source = source; self.objects = objects; self.classes = classes
    }
}
