// libxml2 is used only for parsing (no DTD loading, no network, no entity substitution)
// and for XSD validation of UBL 2.1 / CII D16B against the shipped schemas.
//
// Debian's libxml2 is built with ICU, so its headers pull in the system's <unicode/*.h>, which
// clash with the ICU headers Swift's Foundation brings (_FoundationICU) in a clean build. Rathaus
// never touches libxml2's ICU converter fields, so the ICU parts of the headers are switched off.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
