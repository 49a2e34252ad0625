enum TextsEN { static let all: [String: String] = [:] }
