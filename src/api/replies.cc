#include "api/replies.h"

#include <boost/json/serialize.hpp>

namespace hearth {

HttpResponse jsonResponse(int status, const boost::json::object& body,
                          const std::string& request_id) {
  HttpResponse response;
  response.status = status;
  response.set("Content-Type", "application/json");
  response.set("x-amzn-RequestId", request_id);
  response.body = boost::json::serialize(body);
  return response;
}

HttpResponse emptyResponse(int status, const std::string& request_id) {
  HttpResponse response;
  response.status = status;
  response.set("x-amzn-RequestId", request_id);
  return response;
}

}  // namespace hearth
