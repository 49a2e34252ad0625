enum TextsDE { static let all: [String: String] = [:] }
