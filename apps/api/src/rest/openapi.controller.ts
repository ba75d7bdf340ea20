import { Controller, Get } from '@nestjs/common';
import { AppConfig } from '../config/app.config.js';
import { openApiDocument } from './openapi.document.js';

@Controller('api/v1')
export class OpenApiController {
  private readonly document: Record<string, unknown>;

  constructor(config: AppConfig) {
    this.document = openApiDocument(config.publicUrl);
  }

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    return this.document;
  }
}
