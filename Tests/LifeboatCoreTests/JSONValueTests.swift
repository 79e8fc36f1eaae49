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
