// What an ImageNet-1k class means to a caption: the COCO label it is a kind of (tabby → cat), and
// whether it is a place (seashore, valley). Indices are ImageNet-1k's (imagenet1k_label_to_names.json:
// 281 "tabby, tabby cat", 978 "seashore, coast, seacoast, sea-coast").

public enum ImageNetVocabulary {
    /// ImageNet classes that are kinds of a COCO object (darknet's coco.names spelling), so a
    /// detection and a class can agree: 281 tabby is a `cat`, 671 mountain bike a `bicycle`.
    /// Only classes that are unambiguously that COCO object; 21 (kite, the bird) is a `bird`.
    public static let cocoLabel: [Int: String] = {
        let kinds: [(String, [ClosedRange<Int>])] = [
            ("bird", [7...24, 80...100, 127...146]),
            ("dog", [151...268]),
            ("cat", [281...285]),                  // tabby, tiger cat, Persian, Siamese, Egyptian cat
            ("bear", [294...297]),
            ("horse", [339...339]),                // sorrel
            ("zebra", [340...340]),
            ("cow", [345...347]),                  // ox, water buffalo, bison
            ("sheep", [348...349]),                // ram, bighorn
            ("elephant", [101...101, 385...386]),  // tusker, Indian, African elephant
            ("bicycle", [444...444, 671...671]),   // tandem, mountain bike
            ("motorbike", [665...665, 670...670]), // moped, motor scooter
            ("aeroplane", [404...404, 895...895]), // airliner, warplane
            ("car", [436...436, 468...468, 511...511, 609...609, 627...627, 656...656, 661...661, 751...751, 817...817]),
            ("truck", [555...555, 569...569, 675...675, 717...717, 864...864, 867...867]),
            ("bus", [654...654, 779...779, 874...874]),
            ("train", [466...466, 547...547, 565...565, 705...705, 820...820]),
            ("boat", [472...472, 484...484, 554...554, 576...576, 625...625, 628...628, 724...724, 780...780,
                      814...814, 833...833, 871...871, 914...914]),
            ("chair", [423...423, 559...559, 765...765]),
            ("bench", [703...703]),
            ("clock", [409...409, 530...530, 892...892]),
            ("bottle", [440...440, 720...720, 737...737, 898...898, 907...907]),
            ("cup", [504...504, 968...968]),
            ("sports ball", [429...430, 768...768, 805...805, 852...852, 890...890]),
            ("teddy bear", [850...850]), ("umbrella", [879...879]), ("vase", [883...883]), ("laptop", [620...620]),
            ("keyboard", [508...508]), ("mouse", [673...673]), ("cell phone", [487...487]), ("backpack", [414...414]),
            ("refrigerator", [760...760]), ("microwave", [651...651]), ("toaster", [859...859]), ("toilet", [861...861]),
            ("traffic light", [920...920]), ("parking meter", [704...704]), ("tennis racket", [752...752]), ("skis", [795...795]), ("pizza", [963...963]),
            ("banana", [954...954]), ("orange", [950...950]), ("broccoli", [937...937]), ("hot dog", [934...934]),
        ]
        var table: [Int: String] = [:]
        for (label, ranges) in kinds { for range in ranges { for i in range { table[i] = label } } }
        return table
    }()

    /// ImageNet classes that are places, with the preposition a caption puts before them ("on a
    /// seashore"). The natural ones are WordNet's geological formations (970–980 without 971 bubble);
    /// the built ones are the shops, buildings and structures a whole photo can show.
    public static let places: [Int: String] = [
        970: "on", 972: "on", 973: "at", 974: "near", 975: "by", 976: "on", 977: "on", 978: "on", 979: "in", 980: "near",
        424: "in", 425: "by", 437: "by", 449: "by", 454: "in", 460: "by", 467: "in", 483: "by", 497: "by", 498: "in",
        509: "in", 525: "by", 536: "at", 580: "in", 582: "in", 624: "in", 663: "by", 668: "by", 698: "by", 718: "on",
        727: "in", 743: "by", 762: "in", 821: "by", 839: "by", 865: "in", 888: "by", 913: "by",
    ]

    /// Classes whose first synonym names another COCO object (21 "kite" is the bird, COCO's `kite`
    /// the toy): the caption says the classifier's own name instead.
    static let ambiguousFirstSynonym: Set<Int> = [21]

    /// The noun a caption says for a class: the first synonym whose last word is the COCO label's
    /// (281 "tabby, tabby cat" with `cat` → "tabby cat"), else the first synonym ("mountain bike").
    /// WordNet's case is kept (proper nouns: "German shepherd").
    public static func noun(_ imageClass: ImageClass, agreeingWith cocoLabel: String? = nil) -> String {
        let synonyms = imageClass.synonyms
        if let word = cocoLabel?.split(separator: " ").last.map(String.init),
           let match = synonyms.first(where: { $0.split(separator: " ").last.map(String.init) == word }) {
            return match
        }
        if ambiguousFirstSynonym.contains(imageClass.index) { return imageClass.label }
        return synonyms.first ?? imageClass.label
    }
}
