#include "server/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <unistd.h>
#include <fstream>
#include <sstream>
#include "api/api_handler.h"
#include "artifact/code_store.h"
#include "artifact/encoding.h"
#include "artifact/zip_writer.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/work_queue.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/functions.h"
#include "controlplane/tags.h"
#include "fleet/autoscaler.h"
#include "fleet/fleet_manager.h"
#include "fleet/instance_provider.h"
#include "logs/log_store.h"
#include "net/async_http_client.h"
#include "net/event_loop.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "router/router.h"
#include "server/data_dir_lock.h"
#include "server/demo.h"
#include "store/sqlite_store.h"

namespace hearth {

bool isLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string executableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

namespace {

// How often stored code nobody references is collected (in the background).
constexpr std::chrono::seconds kCodeGcInterval{60};

// How long a starting server waits for adopted agents to report before it is ready anyway.
constexpr std::chrono::milliseconds kRecoveryWait{3500};

// The agent-protocol secret, kept in the data dir so that agents outlive a restart.
Result<std::string> loadOrCreateAgentToken(const std::string& data_dir) {
  std::string path = data_dir + "/agent-token";
  std::string token;
  std::getline(std::ifstream(path), token);
  if (token.size() >= 32) {
    return token;
  }
  token = newUuid() + newUuid();
  int fd = ::open((path + ".tmp").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, token.data(), token.size()) != static_cast<ssize_t>(token.size()) ||
      ::fsync(fd) != 0 || ::close(fd) != 0 ||
      ::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
    return Status(StatusCode::kUnavailable, "cannot write " + path);
  }
  return token;
}

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(ServerOptions options) : options_(std::move(options)) {}

  ~ServerImpl() override { drain(); }

  Status init() {
    std::string host;
    uint16_t port = 0;
    if (!splitHostPort(options_.listen, &host, &port)) {
      return invalidParameter("--listen must be HOST:PORT, got '" + options_.listen + "'");
    }
    if (!isLoopbackHost(host) && options_.access_keys.empty()) {
      return invalidParameter(
          "listening on " + options_.listen +
          " (beyond loopback) requires access keys: set --access-key ID:SECRET or "
          "HEARTH_ACCESS_KEYS; requests are then verified with SigV4");
    }
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) {
      return invalidParameter("cannot create data dir " + options_.data_dir + ": " + ec.message());
    }
    HEARTH_ASSIGN_OR_RETURN(data_dir_lock_, DataDirLock::acquire(options_.data_dir));
    HEARTH_ASSIGN_OR_RETURN(store_, SqliteStore::open(options_.data_dir + "/state.db"));
    HEARTH_ASSIGN_OR_RETURN(code_, CodeStore::open(options_.data_dir + "/code"));
    providers_ =
        std::make_unique<CapacityProviderRegistry>(store_.get(), &clock_, options_.account);
    functions_ = std::make_unique<FunctionRegistry>(store_.get(), code_.get(), providers_.get(),
                                                    &clock_, options_.account);
    tags_ = std::make_unique<TagRegistry>(functions_.get(), providers_.get(), options_.account);
    HEARTH_ASSIGN_OR_RETURN(logs_, LogStore::open(options_.data_dir + "/logs"));
    std::string catalog_json = InstanceCatalog::embeddedJson();
    if (!options_.instance_catalog.empty()) {
      std::ifstream in(options_.instance_catalog);
      if (!in) {
        return invalidParameter("cannot read --instance-catalog " + options_.instance_catalog);
      }
      std::stringstream buffer;
      buffer << in.rdbuf();
      catalog_json = buffer.str();
    }
    HEARTH_ASSIGN_OR_RETURN(InstanceCatalog catalog, InstanceCatalog::parse(catalog_json));
    HEARTH_ASSIGN_OR_RETURN(agent_token_, loadOrCreateAgentToken(options_.data_dir));
    loop_ = EventLoop::create(1);
    // The API's connections and the router's connections to agents share the I/O workers, so an
    // invoke is read, forwarded, answered and written on one thread.
    int io_threads = options_.io_threads > 0
                         ? options_.io_threads
                         : std::max(1, static_cast<int>(std::thread::hardware_concurrency() / 2));
    io_workers_ = IoWorkers::create(io_threads);
    AsyncHttpClientOptions agent_client_options;
    agent_client_options.workers = io_workers_;
    agent_client_ = AsyncHttpClient::create(agent_client_options);
    RouterOptions router_options;
    router_options.max_queue_wait = options_.router_queue_wait;
    router_ =
        std::make_unique<Router>(router_options, agent_client_.get(), loop_.get(), agent_token_);
    control_plane_source_ = std::make_unique<ControlPlaneSource>(functions_.get(), providers_.get(),
                                                                 /*default_min_environments=*/3);
    agent_channel_ = std::make_unique<HttpAgentChannel>(agent_client_.get(), agent_token_);
    route_sink_ = std::make_unique<RouterSink>(router_.get());
    instances_ = std::make_unique<LocalInstanceProvider>(LocalInstanceOptions{},
                                                         [this](const std::string& id, int code) {
                                                           if (fleet_) {
                                                             fleet_->onInstanceExit(id, code);
                                                           }
                                                         });
    FleetDeps fleet_deps;
    fleet_deps.desired = control_plane_source_.get();
    fleet_deps.versions = control_plane_source_.get();
    fleet_deps.instances = instances_.get();
    fleet_deps.agents = agent_channel_.get();
    fleet_deps.routes = route_sink_.get();
    fleet_deps.policy = &scaling_policy_;
    fleet_deps.logs = logs_.get();
    fleet_deps.code = code_.get();
    fleet_deps.clock = &clock_;
    fleet_deps.agent_token = agent_token_;
    fleet_deps.requests = route_sink_.get();
    fleet_deps.metrics = &metrics_;
    FleetOptions fleet_options;
    fleet_options.planner.max_instance_lifetime = options_.instance_max_lifetime;
    fleet_ = std::make_unique<FleetManager>(fleet_options, std::move(catalog), fleet_deps);
    control_work_ = std::make_unique<WorkQueue>(options_.control_threads, options_.control_queue);
    if (!options_.access_keys.empty()) {
      verifier_ = std::make_unique<SigV4Verifier>(options_.access_keys, options_.account.region,
                                                  "lambda", clock_);
    }
    ApiDeps deps;
    deps.functions = functions_.get();
    deps.providers = providers_.get();
    deps.tags = tags_.get();
    deps.control_work = control_work_.get();
    deps.code = code_.get();
    deps.router = router_.get();
    deps.logs = logs_.get();
    FleetManager* fleet = fleet_.get();
    deps.agent_handler = [fleet](const HttpRequest& request) {
      return fleet->handleAgentRequest(request);
    };
    deps.fleet_stats_json = [fleet] {
      FleetState::Stats stats = fleet->stats();
      return fmt::format(R"({{"instances":{},"environments":{},"readyEnvironments":{}}})",
                         stats.instances, stats.environments, stats.ready_environments);
    };
    deps.verifier = verifier_.get();
    deps.metrics = &metrics_;
    api_ = std::make_unique<ApiHandler>(deps);

    HttpServerOptions http;
    http.host = host == "localhost" ? "127.0.0.1" : host;
    http.port = port;
    http.workers = io_workers_;
    http.max_connections = options_.max_connections;
    http.max_connections_per_client = options_.max_connections_per_client;
    http.max_body_bytes = 70167211;
    http.body_limit_for = ApiHandler::bodyLimitFor;
    http.transport_error_response = ApiHandler::transportErrorResponse;
    ApiHandler* api = api_.get();
    HEARTH_ASSIGN_OR_RETURN(http_,
                            HttpServer::create(http, [api](HttpRequest request, Responder respond) {
                              api->handle(std::move(request), std::move(respond));
                            }));
    endpoint_ =
        fmt::format("http://{}:{}",
                    http.host.find(':') != std::string::npos ? "[" + http.host + "]" : http.host,
                    http_->port());
    functions_->setCodeLocationBase(endpoint_);

    HEARTH_RETURN_IF_ERROR(functions_->finishPendingDeletes());
    functions_->collectGarbageCode().permitUnchecked();
    if (options_.demo) {
      HEARTH_RETURN_IF_ERROR(ensureDemo(providers_.get(), functions_.get()));
    }
    LocalInstanceOptions local;
    local.hearth_binary =
        options_.hearth_binary.empty() ? executableDir() + "/hearth" : options_.hearth_binary;
    local.server_url = fmt::format("http://127.0.0.1:{}", http_->port());
    if (!isLoopbackHost(http.host) && http.host != "0.0.0.0" && http.host != "::") {
      local.server_url = endpoint_;
    }
    local.token = agent_token_;
    local.work_root = options_.data_dir + "/instances";
    local.orphan_timeout = options_.agent_orphan_timeout;
    local.runtimes_dir =
        options_.runtimes_dir.empty() ? executableDir() + "/../runtimes" : options_.runtimes_dir;
    local.interpreters = options_.interpreters;
    local.root_filesystems = options_.root_filesystems;
    local.insecure_no_sandbox = options_.insecure_no_sandbox;
    local.region = options_.account.region;
    instances_->configure(std::move(local));
    // Agents that outlived the previous server are adopted before they can heartbeat, and the
    // server is ready once they have reported their EEs (or been found lost), so the first
    // invocations are routed to the EEs that already run.
    fleet_->recover();
    http_->start();
    store_watch_ = store_->watch("", [fleet](const std::vector<Change>&) { fleet->poke(); });
    fleet_->start();
    reconciler_ = std::thread([this] { reconcileLoop(); });
    auto recovery_deadline = std::chrono::steady_clock::now() + kRecoveryWait;
    while (fleet_->recovering() && std::chrono::steady_clock::now() < recovery_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // Ready once a pass that began after recovery has published the adopted EEs' routes.
    uint64_t after = fleet_->passes() + 1;
    fleet_->poke();
    while (fleet_->passes() <= after && std::chrono::steady_clock::now() < recovery_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    api_->setReady(true);
    spdlog::info("hearth serving the Lambda API at {} (data dir {})", endpoint_, options_.data_dir);
    return Status::ok();
  }

  uint16_t port() const override { return http_ ? http_->port() : 0; }
  size_t instanceCount() const override { return fleet_ ? fleet_->stats().instances : 0; }
  std::string endpoint() const override { return endpoint_; }

  void drain() override {
    if (drained_) {
      return;
    }
    drained_ = true;
    if (api_) {
      api_->setReady(false);
    }
    if (http_) {
      http_->drain(options_.drain_grace);
    }
    if (control_work_) {
      control_work_->drain();
    }
    store_watch_.reset();
    if (fleet_) {
      fleet_->stop();
    }
    // Agents keep running: a restarted server adopts them.
    instances_.reset();
    if (agent_client_) {
      agent_client_->shutdown();
    }
    if (io_workers_) {
      io_workers_->stop();
    }
    if (loop_) {
      loop_->stop();
    }
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (reconciler_.joinable()) {
      reconciler_.join();
    }
  }

 private:
  // Background control loop: moves new capacity providers to Active. Later issues add fleet
  // and scaling work here.
  void reconcileLoop() {
    auto next_gc = std::chrono::steady_clock::now() + kCodeGcInterval;
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      Status status = providers_->activatePending();
      if (!status.isOk()) {
        spdlog::warn("reconcile: {}", status.toString());
      }
      if (std::chrono::steady_clock::now() >= next_gc) {
        next_gc = std::chrono::steady_clock::now() + kCodeGcInterval;
        if (Status gc = functions_->collectGarbageCode(); !gc.isOk()) {
          spdlog::warn("code gc: {}", gc.toString());
        }
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; });
    }
  }

  ServerOptions options_;
  std::unique_ptr<DataDirLock> data_dir_lock_;  // held until the process exits or drains
  RealClock clock_;
  StorePtr store_;
  std::unique_ptr<CodeStore> code_;
  std::unique_ptr<CapacityProviderRegistry> providers_;
  std::unique_ptr<FunctionRegistry> functions_;
  std::unique_ptr<TagRegistry> tags_;
  std::unique_ptr<WorkQueue> control_work_;
  std::unique_ptr<SigV4Verifier> verifier_;
  std::unique_ptr<LogStore> logs_;
  std::string agent_token_;
  EventLoopPtr loop_;
  IoWorkersPtr io_workers_;
  AsyncHttpClientPtr agent_client_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<ControlPlaneSource> control_plane_source_;
  std::unique_ptr<HttpAgentChannel> agent_channel_;
  std::unique_ptr<RouterSink> route_sink_;
  FleetMetrics metrics_;
  Autoscaler scaling_policy_;
  std::unique_ptr<FleetManager> fleet_;
  WatchHandlePtr store_watch_;
  std::unique_ptr<LocalInstanceProvider> instances_;
  std::unique_ptr<ApiHandler> api_;
  HttpServerPtr http_;
  std::string endpoint_;
  std::thread reconciler_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool drained_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::start(ServerOptions options) {
  auto server = std::make_unique<ServerImpl>(std::move(options));
  HEARTH_RETURN_IF_ERROR(server->init());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace hearth
