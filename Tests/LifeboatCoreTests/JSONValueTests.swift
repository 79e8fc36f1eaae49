import Testing
import LifeboatCore

@Suite struct JSONValueTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

    @Test func parsesDocumentInOrder() throws {
        let value = try parse(#" {"b":[1,-2,3.5,true,false,null],"a":{"x":"y"},"b":"last"} "# + "\n")
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a", "b"])
        #expect(members[0].value == .array([.number(.unsigned(1)), .number(.signed(-2)), .number(.double(3.5)),
                                            .bool(true), .bool(false), .null]))
        #expect(value["a"]?["x"]?.stringValue == "y")
        #expect(value["b"]?.stringValue == "last")
    }

    @Test func keepsIntegerPrecision() throws {
        #expect(try parse("18446744073709551615").uint64Value == UInt64.max)
        #expect(try parse("-9223372036854775808").int64Value == Int64.min)
        #expect(try parse("18446744073709551616") == .number(.double(18446744073709551616.0)))
        #expect(try parse("-0") == .number(.unsigned(0)))
        #expect(try parse("1e3").uint64Value == 1000)
        #expect(try parse("1.5").uint64Value == nil)
    }

    @Test func decodesEscapes() throws {
        #expect(try parse(#""a\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac""#).stringValue == "a\"\\/\u{8}\u{c}\n\r\tAé€")
        #expect(try parse(#""\ud83d\ude00""#).stringValue == "😀")
        #expect(try parse(#""\uD83D\uDE00x""#).stringValue == "😀x")
        // Lone surrogates become U+FFFD, as in Go.
        #expect(try parse(#""\ud83dx""#).stringValue == "\u{fffd}x")
        #expect(try parse(#""\ude00""#).stringValue == "\u{fffd}")
        #expect(try parse(#""\ud83d\u0041""#).stringValue == "\u{fffd}A")
        #expect(try parse("\"ünï ファイル\"").stringValue == "ünï ファイル")
    }

    @Test(arguments: [
        ("", 0), ("{", 1), ("[1,]", 3), (#"{"a" 1}"#, 5), ("tru", 0), (#""abc"#, 4), ("\"a\u{1}\"", 2),
        ("1 2", 2), ("01", 1), (#"{"a":1,}"#, 7), (#""\x""#, 2), (#""\u12g4""#, 5), ("-", 1), ("1.", 2), ("[1 2]", 3),
    ])
    func reportsErrorsWithPosition(text: String, position: Int) {
        do {
            _ = try JSONValue(parsing: Array(text.utf8))
            Issue.record("parsed invalid JSON \(text)")
        } catch let error as LifeboatError {
            #expect(error.code == .corrupt)
            #expect(error.message.contains("at byte \(position):"), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func limitsNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: LifeboatError.self) { try JSONValue(parsing: Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONValue(parsing: Array(fine.utf8)) }
    }
}

@Suite struct JSONPullParserTests {
    /// `unsigned` reads plain digits itself; everything else must come out as the general
    /// number parser reads it (value or error).
    @Test func unsignedAgreesWithTheGeneralParser() {
        let inputs = ["0", "7", "42", "1234567890123456789", "9999999999999999999", "18446744073709551615",
                      "18446744073709551616", "-0", "-1", "1e3", "1E2", "1.0", "1.5", "00", "012", "0.5", "1x"]
        for text in inputs {
            for document in ["[\(text)]", "{\"n\":\(text)}"] {
                let fast = Result { () throws -> UInt64 in
                    try JSONPullParser.parse(Array(document.utf8)) { json -> UInt64 in
                        var n: UInt64 = 0
                        if document.hasPrefix("[") {
                            try json.array("a") { n = try $0.unsigned("n") }
                        } else {
                            try json.object("o", rawKeys: { json, _ in n = try json.unsigned("n") })
                        }
                        return n
                    }
                }
                let general = Result { () throws -> UInt64 in
                    guard let v = try JSONValue(parsing: Array(text.utf8)).uint64Value else { throw LifeboatError(.corrupt, "not unsigned") }
                    return v
                }
                switch (fast, general) {
                case (.success(let a), .success(let b)): #expect(a == b, "\(document)")
                case (.failure, .failure): break
                default: Issue.record("\(document): pull parser \(fast), general parser \(general)")
                }
            }
        }
    }

    @Test func rawKeysMatchDecodedKeys() throws {
        // A raw control character in a key is invalid JSON.
        let document = "{\"plain\":1,\"tab\u{9}x\":3}"
        var seen: [String] = []
        do {
            try JSONPullParser.parse(Array(document.utf8)) { json in
                try json.object("o", rawKeys: { json, key in
                    seen.append(String(decoding: key, as: UTF8.self))
                    _ = try json.unsigned("v")
                })
            }
            Issue.record("a raw tab in a key must be rejected")
        } catch {}
        let valid = #"{"plain":1,"esc\u0061ped":2,"":4,"é":5}"#
        seen = []
        try JSONPullParser.parse(Array(valid.utf8)) { json in
            try json.object("o", rawKeys: { json, key in
                seen.append(String(decoding: key, as: UTF8.self))
                _ = try json.unsigned("v")
            })
        }
        #expect(seen == ["plain", "escaped", "", "é"])
    }
}
