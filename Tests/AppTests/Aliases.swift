import RathausCore
typealias RathausCoreBase32 = Base32
