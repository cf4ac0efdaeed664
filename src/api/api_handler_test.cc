#include "api/api_handler.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <future>

#include "artifact/code_store.h"
#include "artifact/encoding.h"
#include "artifact/zip_writer.h"
#include "auth/sigv4.h"
#include "common/work_queue.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/functions.h"
#include "controlplane/tags.h"
#include "logs/log_store.h"
#include "net/async_http_client.h"
#include "net/event_loop.h"
#include "router/router.h"
#include "store/memory_store.h"

namespace hearth {
namespace {
namespace json = boost::json;

class ApiHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hearth-api-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = makeMemoryStore();
    code_ = std::move(CodeStore::open((dir_ / "code").string())).value();
    providers_ = std::make_unique<CapacityProviderRegistry>(store_.get(), &clock_, account_);
    functions_ = std::make_unique<FunctionRegistry>(store_.get(), code_.get(), providers_.get(),
                                                    &clock_, account_);
    tags_ = std::make_unique<TagRegistry>(functions_.get(), providers_.get(), account_);
    work_ = std::make_unique<WorkQueue>(1, 16);
    logs_ = std::move(LogStore::open((dir_ / "logs").string())).value();
  }
  void TearDown() override {
    work_->drain();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<ApiHandler> makeHandler(const SigV4Verifier* verifier = nullptr) {
    ApiDeps deps;
    deps.functions = functions_.get();
    deps.providers = providers_.get();
    deps.tags = tags_.get();
    deps.control_work = work_.get();
    deps.code = code_.get();
    deps.verifier = verifier;
    deps.logs = logs_.get();
    auto handler = std::make_unique<ApiHandler>(deps);
    handler->setReady(true);
    return handler;
  }

  HttpResponse call(ApiHandler& handler, HttpRequest request) {
    std::promise<HttpResponse> done;
    handler.handle(std::move(request), [&done](HttpResponse r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }

  static HttpRequest request(std::string method, std::string target, std::string body = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.headers.emplace_back("Host", "127.0.0.1:9001");
    return r;
  }

  std::string createBody(const std::string& name) {
    std::string zip = buildZip({{"index.py", "def handler(e, c):\n  return e\n", false}});
    return json::serialize(json::object{{"FunctionName", name},
                                        {"Runtime", "python3.13"},
                                        {"Handler", "index.handler"},
                                        {"Role", "arn:aws:iam::123456789012:role/r"},
                                        {"Code", json::object{{"ZipFile", base64Encode(zip)}}}});
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  AccountContext account_;
  StorePtr store_;
  std::unique_ptr<CodeStore> code_;
  std::unique_ptr<CapacityProviderRegistry> providers_;
  std::unique_ptr<FunctionRegistry> functions_;
  std::unique_ptr<TagRegistry> tags_;
  std::unique_ptr<WorkQueue> work_;
  std::unique_ptr<LogStore> logs_;
};

TEST_F(ApiHandlerTest, RoutesCreateGetListAndDelete) {
  auto handler = makeHandler();
  auto created = call(*handler, request("POST", "/2015-03-31/functions", createBody("f1")));
  ASSERT_EQ(created.status, 201) << created.body;
  auto got = call(*handler, request("GET", "/2015-03-31/functions/f1"));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body).at("Configuration").at("FunctionName").as_string(), "f1");
  auto by_arn =
      call(*handler,
           request("GET",
                   "/2015-03-31/functions/"
                   "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af1/configuration"));
  EXPECT_EQ(by_arn.status, 200) << by_arn.body;
  auto listed = call(*handler, request("GET", "/2015-03-31/functions/?MaxItems=10"));
  EXPECT_EQ(json::parse(listed.body).at("Functions").as_array().size(), 1u);
  EXPECT_EQ(call(*handler, request("DELETE", "/2015-03-31/functions/f1")).status, 204);
  auto missing = call(*handler, request("GET", "/2015-03-31/functions/f1"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(*missing.header("X-Amzn-ErrorType"), "ResourceNotFoundException");
}

TEST_F(ApiHandlerTest, MalformedJsonAndUnknownRoutesGetAwsErrors) {
  auto handler = makeHandler();
  auto bad = call(*handler, request("POST", "/2015-03-31/functions", "{not json"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(*bad.header("X-Amzn-ErrorType"), "InvalidRequestContentException");
  auto unknown = call(*handler, request("GET", "/nowhere/at/all"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(*unknown.header("X-Amzn-ErrorType"), "UnknownOperationException");
  EXPECT_TRUE(json::parse(unknown.body).as_object().contains("message"));
  auto bad_max = call(*handler, request("GET", "/2015-03-31/functions/?MaxItems=abc"));
  EXPECT_EQ(bad_max.status, 400);
}

TEST_F(ApiHandlerTest, HealthzReflectsReadiness) {
  auto handler = makeHandler();
  EXPECT_EQ(call(*handler, request("GET", "/healthz")).status, 200);
  EXPECT_EQ(call(*handler, request("HEAD", "/healthz")).status, 200);
  for (const std::string& method :
       std::vector<std::string>{"POST", "DELETE", std::string(10240, 'X')}) {
    auto refused = call(*handler, request(method, "/healthz"));
    EXPECT_EQ(refused.status, 405) << method.substr(0, 10);
    EXPECT_EQ(*refused.header("Allow"), "GET, HEAD");
  }
  handler->setReady(false);
  EXPECT_EQ(call(*handler, request("GET", "/healthz")).status, 503);
}

TEST_F(ApiHandlerTest, LogCursorsMustBeNonNegative) {
  auto handler = makeHandler();
  ASSERT_EQ(call(*handler, request("POST", "/2015-03-31/functions", createBody("f1"))).status, 201);
  auto negative = call(*handler, request("GET", "/_hearth/v1/logs/f1?cursor=-5"));
  EXPECT_EQ(negative.status, 400) << negative.body;
  EXPECT_EQ(*negative.header("X-Amzn-ErrorType"), "InvalidParameterValueException");
  EXPECT_EQ(call(*handler, request("GET", "/_hearth/v1/logs/f1?cursor=0")).status, 200);
}

TEST_F(ApiHandlerTest, VerifiesSigV4WhenConfigured) {
  Credentials key{"AKIDHEARTH", "secret-key"};
  RealClock real;
  SigV4Verifier verifier({key}, "us-east-1", "lambda", real);
  auto handler = makeHandler(&verifier);
  HttpRequest unsigned_request = request("GET", "/2015-03-31/functions/");
  EXPECT_EQ(call(*handler, unsigned_request).status, 403);

  HttpRequest signed_request = request("GET", "/2015-03-31/functions/");
  SignedRequest s{signed_request.method, signed_request.target, signed_request.headers, ""};
  signRequest(s, key, "us-east-1", "lambda", std::chrono::system_clock::now());
  signed_request.headers = s.headers;
  EXPECT_EQ(call(*handler, signed_request).status, 200);

  HttpRequest tampered = signed_request;
  tampered.target = "/2015-03-31/functions/?MaxItems=1";
  auto rejected = call(*handler, tampered);
  EXPECT_EQ(rejected.status, 403);
  EXPECT_EQ(*rejected.header("X-Amzn-ErrorType"), "InvalidSignatureException");
}

TEST_F(ApiHandlerTest, BodyLimitsDependOnOperation) {
  EXPECT_EQ(ApiHandler::bodyLimitFor("POST", "/2015-03-31/functions"), 70167211u);
  EXPECT_EQ(ApiHandler::bodyLimitFor("PUT", "/2015-03-31/functions/f/code"), 70167211u);
  EXPECT_EQ(ApiHandler::bodyLimitFor("POST", "/2015-03-31/functions/f/invocations"),
            6u * 1024 * 1024 + 100);
  EXPECT_EQ(ApiHandler::bodyLimitFor("POST", "/2015-03-31/functions/f/aliases"), 1024u * 1024);
  HttpResponse too_large = ApiHandler::transportErrorResponse(TransportError::kBodyTooLarge);
  EXPECT_EQ(too_large.status, 413);
  EXPECT_EQ(*too_large.header("X-Amzn-ErrorType"), "RequestTooLargeException");
}

// Every error the transport answers on its own is AWS-shaped, and its status is the one RFC 9110
// names for it (oversized headers are 431, not 400; a late request is 408, which SDKs retry).
TEST_F(ApiHandlerTest, TransportErrorsAreAwsShapedWithTheirOwnStatus) {
  const struct {
    TransportError error;
    int status;
    const char* type;
  } rows[] = {
      {TransportError::kHeaderTooLarge, 431, "InvalidRequestContentException"},
      {TransportError::kBadRequest, 400, "InvalidRequestContentException"},
      {TransportError::kNotImplemented, 501, "NotImplementedException"},
      {TransportError::kReadTimeout, 408, "RequestTimeoutException"},
      {TransportError::kTooManyConnections, 503, "ServiceException"},
  };
  for (const auto& row : rows) {
    HttpResponse response = ApiHandler::transportErrorResponse(row.error);
    EXPECT_EQ(response.status, row.status) << row.type;
    ASSERT_NE(response.header("X-Amzn-ErrorType"), nullptr);
    EXPECT_EQ(*response.header("X-Amzn-ErrorType"), row.type);
    EXPECT_EQ(*response.header("Connection"), "close");
    EXPECT_TRUE(boost::json::parse(response.body).is_object());
  }
  HttpResponse refused = ApiHandler::transportErrorResponse(TransportError::kTooManyConnections);
  ASSERT_NE(refused.header("Retry-After"), nullptr);
  EXPECT_EQ(*refused.header("Retry-After"), "1");
}

// Static stability: a synchronous invoke is served from the router's routing table without the
// Store or the control-plane work queue, so it keeps working while those are stuck.
TEST_F(ApiHandlerTest, InvokesFlowWhileTheControlPlaneIsStuck) {
  auto agent = std::move(HttpServer::create({}, [](HttpRequest request, Responder respond) {
                 HttpResponse response;
                 response.set("X-Hearth-Outcome", "success");
                 response.body = "echo:" + request.body;
                 respond(std::move(response));
               })).value();
  agent->start();
  auto client = AsyncHttpClient::create({});
  auto loop = EventLoop::create(1);
  Router router(RouterOptions{}, client.get(), loop.get(), "token");
  RoutingTable table;
  VersionRoute& route = table.functions["fn"].versions["1"];
  route.function_name = "fn";
  route.version = "1";
  route.slots.push_back(router.slotFor("ee-1", "127.0.0.1", agent->port(), 4));
  router.publish(std::move(table));

  // Wedge the only control-plane worker and fill its queue.
  std::mutex gate;
  std::unique_lock hold(gate);
  std::promise<void> started;
  WorkQueue stuck(1, 1);
  ASSERT_TRUE(stuck.trySubmit([&] {
    started.set_value();
    std::lock_guard wait(gate);
  }));
  started.get_future().wait();
  ASSERT_TRUE(stuck.trySubmit([] {}));

  ApiDeps deps;
  deps.functions = functions_.get();
  deps.providers = providers_.get();
  deps.tags = tags_.get();
  deps.control_work = &stuck;
  deps.router = &router;
  ApiHandler handler(deps);
  handler.setReady(true);
  auto response =
      call(handler, request("POST", "/2015-03-31/functions/fn/invocations?Qualifier=1", "{}"));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, "echo:{}");
  EXPECT_EQ(*response.header("X-Amz-Executed-Version"), "1");
  // Control-plane calls, by contrast, are shed while the queue is full.
  EXPECT_EQ(call(handler, request("GET", "/2015-03-31/functions/")).status, 429);
  hold.unlock();
  stuck.drain();
  client->shutdown();
  loop->stop();
  agent->drain(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace hearth
