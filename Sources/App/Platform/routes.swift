import Vapor

func routes(_ app: Application) throws {
    let api = app.grouped("api", "v1")
    api.get("openapi.json", use: OpenAPIController.document)

    HealthController().addRoutes(to: app)
    HomeController().addRoutes(to: app)
    GebieteController().addRoutes(api: api, web: app)
    LoginController().addRoutes(to: app)
    TenantWebController().addRoutes(to: app)
    OperatorWebController().addRoutes(to: app)
    MembershipAPIController().addRoutes(to: api)
    AuditController().addRoutes(api: api, web: app)
    FinderAPIController().addRoutes(to: api)
    FinderWebController().addRoutes(to: app)
    XZuFiController().addRoutes(to: api)
    LeitwegController().addRoutes(api: api, web: app)
    InvoiceController().addRoutes(api: api, web: app)
    InvoiceFormController().addRoutes(web: app)
    DemoMailController().addRoutes(to: app)
    ServicekontoController().addRoutes(to: app)
    IdentityController().addRoutes(to: app)
    OnlineServiceController().addRoutes(api: api, web: app)
    ApplicantController().addRoutes(to: app)
    OfficeController().addRoutes(to: app)
    AntragAPIController().addRoutes(to: api)
}
