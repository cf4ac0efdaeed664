#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "net/http.h"

namespace hearth {

// An API answer with a JSON body and the request id.
HttpResponse jsonResponse(int status, const boost::json::object& body,
                          const std::string& request_id);
// An API answer without a body, with the request id.
HttpResponse emptyResponse(int status, const std::string& request_id);

}  // namespace hearth
