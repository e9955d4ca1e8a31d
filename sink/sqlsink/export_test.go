package sqlsink

// AsideMin exports asideMin to the tests.
const AsideMin = asideMin
